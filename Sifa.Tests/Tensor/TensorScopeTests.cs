using Sifa.Autograd;
using Sifa.Models;
using Sifa.Nn.Optim;
using Sifa.Tensors;

namespace Sifa.Tests.TensorTests;

/// <summary>Explicit tensor lifetimes: scopes hand out pooled arrays, take them back, and make stale tensors fail loudly.</summary>
public sealed class TensorScopeTests
{
    private const int Big = BufferPool.MinFloats * 2 + 3;

    [Fact]
    public void TensorsOfAnEndedScopeThrowAndTheirArraysAreReused()
    {
        Tensor t, view;
        float[] array;
        using (TensorScope.Begin())
        {
            t = Tensor.Full(2f, Big);
            view = t.Reshape(1, Big);
            array = ((CpuStorage)t.Storage).Data;
            Assert.Equal(2f, view.AsSpan()[Big - 1]);
        }
        Assert.True(((CpuStorage)t.Storage).IsReleased);
        var e = Assert.Throws<ObjectDisposedException>(() => view.ToArray());
        Assert.Contains("TensorScope", e.Message);
        Assert.Equal(Big, t.Storage.Length); // the shape stays readable for error messages

        using (TensorScope.Begin())
        {
            // This thread returned exactly one array of this length; it comes back unless a concurrent test took it.
            var again = Tensor.Zeros(Big);
            Assert.All(again.ToArray(), v => Assert.Equal(0f, v));
            if (ReferenceEquals(((CpuStorage)again.Storage).Data, array)) Assert.Equal(0f, array[5]);
        }
    }

    [Fact]
    public void KeptSuspendedSmallAndOutsideTensorsSurvive()
    {
        Tensor kept, suspended, small, outside = Tensor.Ones(Big);
        using (TensorScope.Begin())
        {
            kept = TensorScope.Keep(Tensor.Full(3f, Big) * 2f);
            using (TensorScope.Suspend()) suspended = Tensor.Full(4f, Big);
            small = Tensor.Full(5f, 7);
            Assert.False(TensorScope.Release(outside));
        }
        Assert.Equal(6f, kept.ToArray()[^1]);
        Assert.Equal(4f, suspended.ToArray()[0]);
        Assert.Equal(5f, small.ToArray()[6]);
        Assert.Equal(1f, outside.ToArray()[1]);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static (WeakReference Storage, float[] Array) DeadTemporary(int length)
    {
        var t = Tensor.Full(1f, length) + 1f; // two pooled arrays, neither referenced after this returns
        return (new WeakReference(t.Storage), ((CpuStorage)t.Storage).Data);
    }

    [Fact]
    public void DeadTemporariesGoBackToThePoolAtTheNextSafePoint()
    {
        int length = BufferPool.MinFloats * 3 + 11;
        using var scope = TensorScope.Begin();
        var (storage, array) = DeadTemporary(length);
        GC.Collect();
        Assert.False(storage.IsAlive);
        Assert.Equal(2, scope.Count); // still held: nothing was swept yet
        TensorScope.SafePoint();
        Assert.Equal(0, scope.Count);
        var reused = false;
        var live = new List<Tensor>();
        for (int i = 0; i < 4 && !reused; i++)
        {
            live.Add(Tensor.Zeros(length));
            reused = ReferenceEquals(((CpuStorage)live[^1].Storage).Data, array);
        }
        Assert.True(reused, "the dead temporary's array was not handed out again");
    }

    [Fact]
    public void ScopesNestAndMustEndInOrder()
    {
        Tensor a, b;
        var outer = TensorScope.Begin();
        a = Tensor.Zeros(Big);
        var inner = TensorScope.Begin();
        b = Tensor.Zeros(Big);
        var e = Assert.Throws<InvalidOperationException>(() => outer.Dispose());
        Assert.Contains("reverse order", e.Message);
        inner.Dispose();
        Assert.Throws<ObjectDisposedException>(() => b.ToArray());
        Assert.Equal(0f, a.ToArray()[0]);
        outer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => a.ToArray());
        Assert.Null(TensorScope.Current);
    }

    [Fact]
    public void ScopesBelongToTheirThread()
    {
        using var scope = TensorScope.Begin();
        var t = Tensor.Zeros(Big);
        // Another thread has no scope: its allocations are ordinary, and it cannot release this thread's tensors.
        Tensor? other = null;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                Assert.Null(TensorScope.Current);
                Assert.Throws<InvalidOperationException>(() => TensorScope.Release(t));
                other = Tensor.Zeros(Big);
            }
            catch (Exception e) { error = e; }
        });
        thread.Start();
        thread.Join();
        Assert.Null(error);
        Assert.False(TensorScope.IsPooledSince(other!, 0));
        Assert.True(TensorScope.IsPooledSince(t, 0));
    }
}

/// <summary>
/// Training inside scopes (pooled, recycled arrays) equals training without them, bit for bit, and after the first
/// step needs no new large arrays. Runs alone: it poisons recycled arrays with NaN (a process-wide switch), so a
/// kernel that reads memory it did not write would show up as NaN.
/// </summary>
[Collection(GlobalStateCollection.Name)]
public sealed class PooledTrainingTests
{
    private static float[] Train(Func<Sifa.Nn.Module> make, Tensor clips, int[] labels, bool scoped, int steps, List<long>? missesPerStep = null)
    {
        var module = make();
        var model = (IVideoModel)module;
        var opt = new AdamW(module.Parameters(), lr: 1e-3, weightDecay: 0.05);
        for (int s = 0; s < steps; s++)
        {
            long misses = BufferPool.Misses;
            var scope = scoped ? TensorScope.Begin() : null;
            try
            {
                opt.ZeroGrad();
                Ops.CrossEntropy(model.Forward(new Variable(clips)), labels, 0.1f).Backward();
                opt.Step();
                opt.ZeroGrad();
            }
            finally { scope?.Dispose(); }
            missesPerStep?.Add(BufferPool.Misses - misses);
        }
        return module.Parameters().SelectMany(p => p.Data.ToArray()).ToArray();
    }

    public static TheoryData<string> Models => new() { "sifa-tiny", "sifa-swin-mini" };

    [Theory]
    [MemberData(nameof(Models))]
    public void ScopedStepsEqualUnscopedStepsAndStopAllocating(string name)
    {
        Func<Sifa.Nn.Module> make = name == "sifa-tiny"
            ? () => Presets.Create("sifa-tiny", 4, null, 32, new Generator(3))
            : () => new SifaSwin(new SwinConfig(32, 4, 16, new[] { 2, 2 }, new[] { 2, 4 }, 4, 4, SifaStages: new[] { 1, 2 }, DropPath: 0.1f), new Generator(3));
        var clips = Tensor.RandN(new Generator(9), new[] { 2, 4, 3, 32, 32 });
        var labels = new[] { 1, 3 };
        var plain = Train(make, clips, labels, scoped: false, steps: 3);
        BufferPool.PoisonRecycled = true;
        long collectAfter = TensorScope.CollectAfterBytes;
        TensorScope.CollectAfterBytes = 1 << 20; // collect and sweep often: dead temporaries are recycled mid-step
        try
        {
            var misses = new List<long>();
            long hits = BufferPool.Hits;
            var pooled = Train(make, clips, labels, scoped: true, steps: 3, misses);
            Assert.Equal(plain, pooled);
            Assert.True(BufferPool.Hits - hits > 20); // the pool was used (arrays of other tests' sizes may serve step 1 too)
            Assert.True(misses[2] <= 2, $"step 3 needed {misses[2]} new arrays"); // reuses arrays (collection timing may differ a little)
        }
        finally
        {
            BufferPool.PoisonRecycled = false;
            TensorScope.CollectAfterBytes = collectAfter;
        }
    }
}
