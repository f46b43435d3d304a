namespace Sifa.Tensors.Cpu;

/// <summary>
/// Iteration plan for up to three same-shape strided operands: dimensions that are contiguous for every
/// operand are merged, leaving an outer index space and one inner run (with a stride per operand).
/// </summary>
internal readonly struct StridedLayout
{
    public readonly int[] Shape;      // merged shape; the last dim is the inner run
    public readonly int[][] Strides;  // per operand, merged strides
    public readonly int Inner;        // length of the inner run
    public readonly int Outer;        // number of inner runs

    public StridedLayout(int[] shape, params int[][] strides)
    {
        var sh = new List<int>();
        var st = strides.Select(_ => new List<int>()).ToArray();
        for (int d = 0; d < shape.Length; d++)
        {
            if (shape[d] == 1) continue;
            bool merge = sh.Count > 0;
            if (merge)
                for (int k = 0; k < strides.Length; k++)
                    if (st[k][^1] != strides[k][d] * shape[d]) { merge = false; break; }
            if (merge)
            {
                sh[^1] *= shape[d];
                for (int k = 0; k < strides.Length; k++) st[k][^1] = strides[k][d];
            }
            else
            {
                sh.Add(shape[d]);
                for (int k = 0; k < strides.Length; k++) st[k].Add(strides[k][d]);
            }
        }
        if (sh.Count == 0) { sh.Add(1); foreach (var s in st) s.Add(1); }
        Shape = sh.ToArray();
        Strides = st.Select(s => s.ToArray()).ToArray();
        Inner = Shape[^1];
        long o = 1;
        for (int d = 0; d < Shape.Length - 1; d++) o *= Shape[d];
        Outer = (int)o;
        if (shape.Any(s => s == 0)) Outer = 0;
    }

    /// <summary>Element offset (relative) of operand k at the start of inner run r.</summary>
    public int RunOffset(int k, int r)
    {
        int off = 0;
        var st = Strides[k];
        for (int d = Shape.Length - 2; d >= 0; d--)
        {
            int i = r % Shape[d];
            r /= Shape[d];
            off += i * st[d];
        }
        return off;
    }

    public int InnerStride(int k) => Strides[k][^1];
}
