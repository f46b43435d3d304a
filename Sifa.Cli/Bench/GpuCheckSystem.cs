using System.Diagnostics;
using Sifa.Models;
using Sifa.Nn.Optim;
using Sifa.Tensors;
using Sifa.Tensors.Elementwise;

namespace Sifa.Cli.Bench;

/// <summary>
/// The whole-device lines of <c>bench gpu</c>: SGEMM through <see cref="Tensor.Matmul"/> with cuBLAS and with the tiled
/// kernel, copy and kernel bandwidth, the allocator's leak check, and a training step against the CPU.
/// </summary>
internal sealed class SystemChecks(IBackend be, IDeviceInfo info, CheckLog log, bool quick)
{
    private readonly Device _dev = be.Device;

    private int Reps => quick ? 2 : 5;

    // First call and median of warm calls of an action, each synchronised.
    private (double First, double Warm) Time(Action action, int reps)
    {
        info.Synchronize();
        long t0 = Stopwatch.GetTimestamp();
        action();
        info.Synchronize();
        double first = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        var warm = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            t0 = Stopwatch.GetTimestamp();
            action();
            info.Synchronize();
            warm[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        Array.Sort(warm);
        return (first, warm[reps / 2]);
    }

    /// <summary>
    /// <c>sgemm</c>: C = A·B for n×n (4096; 128 with --quick) via <see cref="Tensor.Matmul"/>, with cuBLAS in full FP32
    /// (math mode DefaultMath: TF32 off) and with the project's tiled kernel; their max relative difference.
    /// </summary>
    public void Sgemm()
    {
        int n = quick ? 32 : 4096;
        try
        {
            using var scope = TensorScope.Begin();
            var a = Tensor.RandN(new Generator(200), [n, n]).ToDevice(_dev);
            var b = Tensor.RandN(new Generator(201), [n, n]).ToDevice(_dev);
            double flop = 2.0 * n * n * n;
            bool vendor = info.VendorMatmul;
            float[]? vendorResult = null;
            if (vendor)
            {
                Tensor? c = null;
                var (first, warm) = Time(() => c = Tensor.Matmul(a, b), Reps);
                vendorResult = c!.ToArray();
                log.Line($"sgemm n={n} path=cublas tf32=off first_ms={Fmt.Ms(first)} warm_ms={Fmt.Ms(warm)} tflops={Fmt.F(flop / warm / 1e12, "0.000")}");
            }
            else log.Line($"sgemm n={n} path=cublas skipped=\"cuBLAS not in use on {_dev}\"");
            info.VendorMatmul = false;
            try
            {
                Tensor? c = null;
                var (first, warm) = Time(() => c = Tensor.Matmul(a, b), Reps);
                string diff = "";
                if (vendorResult != null)
                {
                    double rel = Fmt.MaxRel(vendorResult, c!.ToArray());
                    bool ok = log.Record("sgemm_cublas_vs_tiled", rel, GpuCheck.Tolerance);
                    diff = $" maxrel_vs_cublas={Fmt.E(rel)} ok={(ok ? "true" : "false")}";
                }
                log.Line($"sgemm n={n} path=tiled first_ms={Fmt.Ms(first)} warm_ms={Fmt.Ms(warm)} tflops={Fmt.F(flop / warm / 1e12, "0.000")}{diff}");
            }
            finally { info.VendorMatmul = vendor; }
        }
        catch (Exception e) when (e is not OutOfMemoryException) { log.Error("sgemm", "sgemm", e); }
    }

    /// <summary>
    /// <c>bandwidth</c>: a device-to-device copy of 1 GiB (4 MiB with --quick), and an element-wise kernel (y = 2x + 1)
    /// over it; GB/s count bytes read plus bytes written.
    /// </summary>
    public void Bandwidth()
    {
        int floats = quick ? 1 << 14 : 1 << 28;
        try
        {
            using var scope = TensorScope.Begin();
            var src = Tensor.Zeros([floats], _dev);
            var dst = Tensor.Empty([floats], _dev);
            double bytes = 2.0 * 4 * floats;
            var (_, copy) = Time(() => be.Copy(src, dst), Reps);
            log.Line($"bandwidth kind=copy mib={Fmt.F(floats / 262144.0, "0.###")} warm_ms={Fmt.Ms(copy)} gbps={Fmt.F(bytes / copy / 1e9, "0.0")}");
            var (_, map) = Time(() => be.Map(src, new AffineOp(2f, 1f), dst), Reps);
            log.Line($"bandwidth kind=map_affine mib={Fmt.F(floats / 262144.0, "0.###")} warm_ms={Fmt.Ms(map)} gbps={Fmt.F(bytes / map / 1e9, "0.0")}");
        }
        catch (Exception e) when (e is not OutOfMemoryException) { log.Error("bandwidth", "bandwidth", e); }
    }

    /// <summary>
    /// <c>leak</c>: 1000 cycles that allocate tensors of mixed sizes (and run a kernel on them) and free them, once
    /// through scopes (freed at each scope's end) and once left to the finalizer; the allocator's bytes in use must come
    /// back to where they started, and the device allocations stay few (the cache serves repeats).
    /// </summary>
    public void LeakCheck()
    {
        int[] sizes = quick ? [1, 100, 3000, 70000] : [1, 100, 3000, 70000, 1 << 20, 5_000_000];
        foreach (var mode in new[] { "scope", "finalizer" })
        {
            try
            {
                Collect();
                var start = info.Memory;
                for (int i = 0; i < 1000; i++)
                {
                    int n = sizes[i % sizes.Length] + i % 7;
                    if (mode == "scope")
                    {
                        using (TensorScope.Begin()) Cycle(n);
                    }
                    else Cycle(n);
                }
                Collect();
                var end = info.Memory;
                bool ok = end.BytesInUse == start.BytesInUse;
                log.Pass($"leak_{mode}", ok);
                log.Line($"leak mode={mode} cycles=1000 start_bytes={start.BytesInUse} end_bytes={end.BytesInUse} "
                    + $"cached_mib={Fmt.F(end.BytesCached / 1048576.0, "0.0")} device_allocations=+{end.DeviceAllocations - start.DeviceAllocations} "
                    + $"requests=+{end.Requests - start.Requests} ok={(ok ? "true" : "false")}");
            }
            catch (Exception e) when (e is not OutOfMemoryException) { log.Error("leak", $"leak_{mode}", e); }
        }

        void Cycle(int n)
        {
            var a = Tensor.Empty([n], _dev);
            var b = Tensor.Zeros([n / 2 + 1], _dev);
            // An op's output is freed like any tensor; kept small with --quick (ILGPU's CPU accelerator is slow per element).
            var c = be.Map(quick ? b.Narrow(0, 0, Math.Min(b.Numel, 64)) : a, new AffineOp(3f, 0f));
            GC.KeepAlive(b);
            GC.KeepAlive(c);
        }
    }

    // Dead storages give their buffers back in their finalizers: collect until none is left to run.
    private static void Collect()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    /// <summary>
    /// <c>steploss</c> and <c>step</c>: sifa-r50 (sifa-tiny, 2 frames of 16², with --quick) trained with AdamW through the code of
    /// <c>bench step</c>. The loss check runs two steps of one clip from identical weights and input on the CPU and on
    /// the device (step 1: forward only differs; step 2: after backward and one AdamW update). The timing runs 8 clips
    /// × 8 frames × 224² on the device: first step, median of 5 after it, and the allocator's peak bytes in use.
    /// </summary>
    public void TrainingStep()
    {
        if (quick && _dev.Kind == DeviceKind.IlgpuCpu)
        {
            // Measured: a sifa-tiny step of 2 frames at 16² takes minutes there (every thread of a group is simulated).
            log.Line($"step skipped=\"--quick on {_dev}: ILGPU's CPU accelerator needs minutes for one step; run on cuda\"");
            return;
        }
        string model = quick ? "sifa-tiny" : "sifa-r50";
        int frames = quick ? 2 : 8, size = quick ? 16 : 224, classes = quick ? 10 : 400, batch = quick ? 1 : 8;
        try
        {
            var cpuLoss = Losses(Device.Cpu, model, 1, frames, size, classes, 2, out var cpuTimes);
            log.Line($"step model={model} device=cpu batch=1 frames={frames} size={size} optimizer=adamw ms_per_step={Fmt.Ms(cpuTimes[^1])}");
            var devLoss = Losses(_dev, model, 1, frames, size, classes, 2, out _);
            for (int s = 0; s < 2; s++)
            {
                double abs = Math.Abs((double)devLoss[s] - cpuLoss[s]), rel = abs / Math.Max(Math.Abs((double)cpuLoss[s]), 1e-30);
                double tol = s == 0 ? GpuCheck.Tolerance : 1e-3; // step 2 follows an AdamW update, whose sign(g)-like first step amplifies noise
                bool ok = log.Record($"steploss_{s + 1}", rel, tol);
                log.Line($"steploss step={s + 1} model={model} cpu={Fmt.F(cpuLoss[s], "0.000000")} device={Fmt.F(devLoss[s], "0.000000")} "
                    + $"absdiff={Fmt.E(abs)} reldiff={Fmt.E(rel)} tol={Fmt.E(tol)} ok={(ok ? "true" : "false")}");
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException) { log.Error("steploss", "steploss", e); }

        try
        {
            Collect();
            info.EmptyCache();
            info.ResetPeakMemory();
            var loss = Losses(_dev, model, batch, frames, size, classes, quick ? 2 : 6, out var times);
            var sorted = times.Skip(1).Order().ToArray();
            var mem = info.Memory;
            log.Line($"step model={model} device={_dev} batch={batch} frames={frames} size={size} optimizer=adamw first_ms={Fmt.Ms(times[0])} "
                + $"ms_per_step={Fmt.Ms(sorted[sorted.Length / 2])} steps={sorted.Length} loss_last={Fmt.F(loss[^1], "0.0000")} "
                + $"peak_mib={Fmt.F(mem.PeakBytesInUse / 1048576.0, "0")} cached_mib={Fmt.F(mem.BytesCached / 1048576.0, "0")}");
        }
        catch (Exception e) when (e is not OutOfMemoryException) { log.Error("step", "step", e); }
    }

    // Losses (read at each step, before its update) of `steps` steps from the same seeded weights and clip.
    private static float[] Losses(Device dev, string model, int batch, int frames, int size, int classes, int steps, out double[] seconds)
    {
        var m = Presets.Create(model, classes, stemStride: 1, image: size, gen: new Generator(1));
        m.To(dev).Train();
        var opt = new AdamW(m.Parameters(), lr: 1e-3, weightDecay: 0.05);
        var clip = Tensor.RandN(new Generator(2), [batch, frames, 3, size, size]).ToDevice(dev);
        var target = Enumerable.Range(0, batch).Select(i => i * 37 % classes).ToArray();
        var losses = new float[steps];
        seconds = new double[steps];
        for (int s = 0; s < steps; s++)
        {
            long t0 = Stopwatch.GetTimestamp();
            losses[s] = StepBench.TrainStep(m, opt, clip, target, out _); // reading the loss waits for the device
            seconds[s] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        return losses;
    }
}
