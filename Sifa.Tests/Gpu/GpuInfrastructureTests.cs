using System.Runtime.InteropServices;
using Sifa.Tensors;
using Sifa.Tensors.Gpu;

namespace Sifa.Tests.Gpu;

/// <summary>Registration, device errors, the caching allocator, the native-library search and strided copies.</summary>
public class GpuInfrastructureTests
{
    [Fact]
    public void IlgpuCpuIsRegisteredAndListedForPerDeviceTests()
    {
        Assert.True(Backends.TryGet(Device.IlgpuCpu, out var b));
        Assert.IsType<GpuBackend>(b);
        Assert.Contains(Device.IlgpuCpu, TestDevices.Available());
        Assert.False(((GpuBackend)b!).UsesCuBlas);
    }

    [SkippableFact]
    public void CudaWithoutDriverFailsWithOneClearLine()
    {
        Skip.If(NativeLibrary.TryLoad("libcuda.so.1", out var h) && FreeTrue(h), "this machine has a CUDA driver");
        Assert.False(Backends.TryGet(Device.Cuda, out _));
        var e = Assert.Throws<NotSupportedException>(() => Backends.For(Device.Parse("cuda:1")));
        Assert.Equal("cuda:1: no CUDA driver found (libcuda.so.1)", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    private static bool FreeTrue(IntPtr h) { NativeLibrary.Free(h); return true; }

    [Theory]
    [InlineData(1, 512)]
    [InlineData(512, 512)]
    [InlineData(513, 1024)]
    [InlineData(1 << 20, 1 << 20)]
    [InlineData((1 << 20) + 1, (1 << 20) + (1 << 18))]
    [InlineData(3 << 20, 3 << 20)]
    [InlineData((3 << 20) + 1, (7 << 19))]
    public void BucketsRoundUp(long bytes, long bucket) => Assert.Equal(bucket, CachingAllocator.BucketBytes(bytes));

    [Fact]
    public void AllocatorReusesBuffersAndCountsBytes()
    {
        using var backend = GpuBackend.Create(Device.IlgpuCpu);
        var before = backend.MemoryStats;
        Assert.Equal(0, before.DeviceAllocations);
        for (int i = 0; i < 1000; i++)
        {
            var s = backend.Allocate(1000 + i % 7, zero: false); // all in the 4096-byte bucket
            s.Release();
        }
        var after = backend.MemoryStats;
        Assert.Equal(1, after.DeviceAllocations);
        Assert.Equal(1000, after.Requests);
        Assert.Equal(0, after.BytesInUse);
        Assert.Equal(4096, after.BytesCached);
        Assert.Equal(4096, after.PeakBytesInUse);

        var live = Enumerable.Range(0, 3).Select(_ => backend.Allocate(100_000, zero: true)).ToList();
        Assert.Equal(3 * CachingAllocator.BucketBytes(400_000), backend.MemoryStats.BytesInUse);
        foreach (var s in live) s.Release();
        backend.EmptyCache();
        Assert.Equal(0, backend.MemoryStats.BytesCached);
        var z = new Tensor(backend.Allocate(10, zero: true), [10], [1]);
        Assert.All(z.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void ScopesReturnDeviceBuffersAndInvalidateTensors()
    {
        using var backend = GpuBackend.Create(Device.IlgpuCpu);
        Tensor kept, dead;
        using (TensorScope.Begin())
        {
            dead = new Tensor(backend.Allocate(1000, zero: true), [1000], [1]);
            kept = TensorScope.Keep(new Tensor(backend.Allocate(1000, zero: true), [1000], [1]));
            Assert.Equal(2 * 4096, backend.MemoryStats.BytesInUse);
        }
        Assert.Equal(4096, backend.MemoryStats.BytesInUse);
        Assert.Throws<ObjectDisposedException>(() => dead.ToArray());
        Assert.Equal(1000, kept.ToArray().Length);
        kept.Storage.Release();
        Assert.Equal(0, backend.MemoryStats.BytesInUse);
        Assert.Equal(2, backend.MemoryStats.DeviceAllocations);
    }

    [Fact]
    public void CollectedTensorsReturnTheirBuffers()
    {
        using var backend = GpuBackend.Create(Device.IlgpuCpu);
        static void Churn(GpuBackend b)
        {
            for (int i = 0; i < 200; i++) _ = new Tensor(b.Allocate(256, zero: false), [256], [1]);
        }
        for (int round = 0; round < 5; round++)
        {
            Churn(backend);
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        var s = backend.MemoryStats;
        Assert.Equal(0, s.BytesInUse);
        Assert.True(s.DeviceAllocations <= 200, $"{s.DeviceAllocations} device allocations for 1000 requests of one size");
    }

    [Fact]
    public void ResolverFindsPipCublasInAFakeTree()
    {
        var root = Path.Combine(Path.GetTempPath(), "sifa-resolver-" + Guid.NewGuid().ToString("N"));
        try
        {
            string Touch(string rel)
            {
                var p = Path.Combine(root, rel);
                Directory.CreateDirectory(Path.GetDirectoryName(p)!);
                File.WriteAllText(p, "");
                return p;
            }
            Directory.CreateDirectory(Path.Combine(root, "ld"));
            var pip = Touch("venv/lib/python3.12/site-packages/nvidia/cublas/lib/libcublas.so.13");
            Touch("venv/lib/python3.12/site-packages/nvidia/cublas/lib/libcublasLt.so.13");
            Touch("venv/lib/python3.12/site-packages/nvidia/cuda_runtime/lib/libcudart.so.13");
            Touch("sys/libcublas.so.11");
            Touch("sys/libcublas.so.12.4.5");
            Touch("sys/libcublas.so");
            Touch("sys/libcublasLt.so.14");
            Touch("sys/libcuda.so.1");
            var env = new Dictionary<string, string>
            {
                ["LD_LIBRARY_PATH"] = Path.Combine(root, "ld") + ":",
                ["VIRTUAL_ENV"] = Path.Combine(root, "venv"),
                ["HOME"] = Path.Combine(root, "home"),
            };
            string? Env(string k) => env.GetValueOrDefault(k);

            var dirs = NativeLibraries.SearchDirectories(Env, []).ToList();
            Assert.Equal(Path.Combine(root, "ld"), dirs[0]);
            Assert.Contains(Path.GetDirectoryName(pip)!, dirs);
            Assert.Equal(pip, NativeLibraries.FindLibrary("libcublas.so", dirs));

            // a system folder earlier in the order wins; within it the highest version, never libcublasLt
            var withSys = NativeLibraries.SearchDirectories(Env, [Path.Combine(root, "sys")]).ToList();
            Assert.Equal(Path.Combine(root, "sys", "libcublas.so.12.4.5"), NativeLibraries.FindLibrary("libcublas.so", withSys));
            Assert.Equal(Path.Combine(root, "sys", "libcuda.so.1"), NativeLibraries.FindLibrary("libcuda.so", withSys));

            env["CUDA_HOME"] = Path.Combine(root, "cuda");
            Touch("cuda/lib64/libcublas.so.12");
            Assert.Equal(Path.Combine(root, "cuda", "lib64", "libcublas.so.12"),
                NativeLibraries.FindLibrary("libcublas.so", NativeLibraries.SearchDirectories(Env, [Path.Combine(root, "sys")])));
            Assert.Null(NativeLibraries.FindLibrary("libcublas.so", [Path.Combine(root, "ld"), Path.Combine(root, "missing")]));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact]
    public void StridedIndexMergesDims()
    {
        var t = Tensor.Empty(2, 3, 4);
        Assert.Equal(1, StridedIndex.For(t).Rank);
        Assert.Equal(2, StridedIndex.For(t.Permute(2, 0, 1)).Rank); // (4, 2, 3) with strides (1, 12, 4): the outer two merge
        Assert.Equal(1, StridedIndex.For(t.Narrow(0, 1, 1)).Rank);
        var ix = StridedIndex.Create([2, 3, 4], [0, 4, 1], [12, 4, 1], 5, 0); // broadcast a over dim 0
        Assert.Equal(2, ix.Rank);
        ix.Offsets(13, out int a, out int b);
        Assert.Equal((5 + 1, 13), (a, b));
        Assert.Throws<NotSupportedException>(() => StridedIndex.Create(Enumerable.Repeat(2, 9).ToArray(),
            Enumerable.Range(0, 9).Select(i => 1 << (2 * (8 - i))).ToArray(), Tensor.ContiguousStrides(Enumerable.Repeat(2, 9).ToArray()), 0, 0));
    }

    [Fact]
    public void CustomOpWithoutGpuKernelFailsInsteadOfRunningOnTheCpu()
    {
        var x = Tensor.Zeros([4], Device.IlgpuCpu);
        var e = Assert.Throws<NotSupportedException>(() => new CpuOnlyOp().Run([x], [4]));
        Assert.Equal("cpu_only has no GPU kernel: it cannot run on ilgpu-cpu", e.Message);
        Assert.Equal([1f, 1f, 1f, 1f], new CpuOnlyOp().Run([Tensor.Zeros(4)], [4])[0].ToArray());
    }

    private sealed class CpuOnlyOp : CustomOp
    {
        public override string Name => "cpu_only";

        protected internal override void RunCpu(CpuKernelArgs args) => args.Output(0).Fill(1f);
    }
}
