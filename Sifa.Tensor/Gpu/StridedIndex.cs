namespace Sifa.Tensors.Gpu;

/// <summary>
/// Maps the row-major index of an element to its offsets in two strided operands, passed to kernels by value (no
/// device metadata buffer, no upload per launch). Dimensions are stored innermost first after merging the ones that
/// are contiguous for both operands, so most tensors need one or two steps; at most <see cref="MaxRank"/> remain.
/// </summary>
internal struct StridedIndex
{
    public const int MaxRank = 8;

    public int Rank;
    public int OffsetA, OffsetB;
    public int S0, S1, S2, S3, S4, S5, S6, S7;
    public int A0, A1, A2, A3, A4, A5, A6, A7;
    public int B0, B1, B2, B3, B4, B5, B6, B7;

    /// <summary>Offsets of element <paramref name="i"/> (row-major over the shape) in operand a and operand b.</summary>
    public readonly void Offsets(int i, out int a, out int b)
    {
        a = OffsetA;
        b = OffsetB;
        Step(ref i, ref a, ref b, S0, A0, B0);
        if (Rank == 1) return;
        Step(ref i, ref a, ref b, S1, A1, B1);
        if (Rank == 2) return;
        Step(ref i, ref a, ref b, S2, A2, B2);
        if (Rank == 3) return;
        Step(ref i, ref a, ref b, S3, A3, B3);
        if (Rank == 4) return;
        Step(ref i, ref a, ref b, S4, A4, B4);
        if (Rank == 5) return;
        Step(ref i, ref a, ref b, S5, A5, B5);
        if (Rank == 6) return;
        Step(ref i, ref a, ref b, S6, A6, B6);
        if (Rank == 7) return;
        Step(ref i, ref a, ref b, S7, A7, B7);
    }

    /// <summary>Offset of element <paramref name="i"/> in operand a only.</summary>
    public readonly int OffsetOfA(int i)
    {
        Offsets(i, out var a, out _);
        return a;
    }

    private static void Step(ref int i, ref int a, ref int b, int size, int sa, int sb)
    {
        int q = i / size;
        int r = i - q * size;
        a += r * sa;
        b += r * sb;
        i = q;
    }

    /// <summary>The index for one strided operand.</summary>
    public static StridedIndex For(Tensor a) => Create(a.Shape, a.Strides, a.Strides, a.Offset, 0);

    /// <summary>The index for two same-shape operands.</summary>
    public static StridedIndex For(Tensor a, Tensor b) => Create(a.Shape, a.Strides, b.Strides, a.Offset, b.Offset);

    /// <summary>The index for a shape with two stride sets (e.g. broadcast views with stride 0).</summary>
    public static StridedIndex Create(int[] shape, int[] sa, int[] sb, int offsetA, int offsetB)
    {
        // Merge from the innermost dim outwards: dim d folds into the run inside it when both operands step over it
        // exactly as one longer run would. Size-1 dims vanish.
        var size = new List<int>(); var stA = new List<int>(); var stB = new List<int>();
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            if (shape[d] == 1) continue;
            if (size.Count > 0 && stA[^1] * size[^1] == sa[d] && stB[^1] * size[^1] == sb[d])
            {
                size[^1] *= shape[d];
                continue;
            }
            size.Add(shape[d]); stA.Add(sa[d]); stB.Add(sb[d]);
        }
        if (size.Count == 0) { size.Add(1); stA.Add(0); stB.Add(0); }
        if (size.Count > MaxRank)
            throw new NotSupportedException($"GPU strided access supports {MaxRank} non-mergeable dims; shape {Tensor.Fmt(shape)} has {size.Count}");
        var ix = new StridedIndex { Rank = size.Count, OffsetA = offsetA, OffsetB = offsetB };
        for (int k = 0; k < size.Count; k++) ix.Set(k, size[k], stA[k], stB[k]);
        for (int k = size.Count; k < MaxRank; k++) ix.Set(k, 1, 0, 0);
        return ix;
    }

    private void Set(int k, int s, int a, int b)
    {
        switch (k)
        {
            case 0: S0 = s; A0 = a; B0 = b; break;
            case 1: S1 = s; A1 = a; B1 = b; break;
            case 2: S2 = s; A2 = a; B2 = b; break;
            case 3: S3 = s; A3 = a; B3 = b; break;
            case 4: S4 = s; A4 = a; B4 = b; break;
            case 5: S5 = s; A5 = a; B5 = b; break;
            case 6: S6 = s; A6 = a; B6 = b; break;
            default: S7 = s; A7 = a; B7 = b; break;
        }
    }
}
