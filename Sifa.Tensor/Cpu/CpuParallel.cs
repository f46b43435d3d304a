namespace Sifa.Tensors.Cpu;

/// <summary>Splits loops over the machine's cores. Small loops run inline to avoid scheduling cost.</summary>
public static class CpuParallel
{
    /// <summary>Number of worker threads used by heavy kernels (default: all logical cores).</summary>
    public static int Threads { get; set; } = Environment.ProcessorCount;

    /// <summary>Runs <paramref name="body"/>(i) for i in [0, n), in parallel when <paramref name="work"/> (a cost estimate) is large.</summary>
    /// <param name="n">Number of iterations.</param>
    /// <param name="body">The loop body.</param>
    /// <param name="work">Approximate total work (e.g. elements or flops); below ~32k it runs serially.</param>
    public static void For(int n, Action<int> body, long work = long.MaxValue)
    {
        if (n <= 0) return;
        if (n == 1 || Threads <= 1 || work < 32_768)
        {
            for (int i = 0; i < n; i++) body(i);
            return;
        }
        Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = Threads }, body);
    }

    /// <summary>Runs <paramref name="body"/>(start, end) over about <see cref="Threads"/> contiguous chunks of [0, n).</summary>
    /// <param name="n">Range length.</param>
    /// <param name="body">Receives each chunk's bounds.</param>
    /// <param name="work">Approximate total work; below ~32k it runs serially.</param>
    public static void ForChunks(int n, Action<int, int> body, long work = long.MaxValue)
    {
        if (n <= 0) return;
        int chunks = work < 32_768 ? 1 : Math.Min(n, Threads);
        if (chunks <= 1) { body(0, n); return; }
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = Threads }, c =>
        {
            int s = (int)((long)n * c / chunks), e = (int)((long)n * (c + 1) / chunks);
            if (e > s) body(s, e);
        });
    }
}
