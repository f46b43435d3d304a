using System.Diagnostics;
using System.Text;
using Sifa.Tensors.IO;

namespace Sifa.Tests.Checkpoints;

/// <summary>Shared helpers for the hostile-file tests: safetensors builders, special files, and the fail-fast assertion.</summary>
internal static class HostileFiles
{
    /// <summary>A safetensors file from a raw header (padded with spaces to 8 bytes, as the reference does) and data.</summary>
    public static byte[] SafeTensorsBytes(string headerJson, byte[] data, ulong? headerLengthOverride = null)
    {
        var json = Encoding.UTF8.GetBytes(headerJson);
        int pad = (8 - json.Length % 8) % 8;
        var r = new MemoryStream();
        r.Write(BitConverter.GetBytes(headerLengthOverride ?? (ulong)(json.Length + pad)));
        r.Write(json);
        for (int i = 0; i < pad; i++) r.WriteByte((byte)' ');
        r.Write(data);
        return r.ToArray();
    }

    /// <summary>
    /// Runs <paramref name="read"/>, which must refuse the input with a <see cref="CheckpointFormatException"/> whose
    /// message names <paramref name="name"/>, within a time and allocation bound.
    /// </summary>
    public static CheckpointFormatException AssertRefused(Action read, string name, long maxAllocated = 16L << 20, int maxMs = 2000)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        var e = Assert.Throws<CheckpointFormatException>(read);
        sw.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains(name, e.Message);
        Assert.True(sw.ElapsedMilliseconds < maxMs, $"{name}: took {sw.ElapsedMilliseconds} ms: {e.Message}");
        Assert.True(allocated < maxAllocated, $"{name}: allocated {allocated} bytes: {e.Message}");
        return e;
    }

    /// <summary>Opens a FIFO for writing and closes it, which releases a reader blocked in open().</summary>
    public static void ReleaseFifoReader(string fifo)
    {
        using var w = new FileStream(fifo, FileMode.Open, FileAccess.Write);
    }

    /// <summary>Makes a FIFO with mkfifo(1); false where that is impossible (not Unix, no mkfifo).</summary>
    public static bool TryMakeFifo(string path)
    {
        if (OperatingSystem.IsWindows()) return false;
        try
        {
            using var p = Process.Start(new ProcessStartInfo("mkfifo", path) { UseShellExecute = false, RedirectStandardError = true });
            if (p is null) return false;
            p.WaitForExit(10_000);
            return p.HasExited && p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    /// <summary>
    /// Runs a read on a thread pool task and fails (instead of hanging the test run) when it does not finish in time;
    /// returns the exception it threw.
    /// </summary>
    public static Exception? RunBounded(Action read, Action? unblock = null, int timeoutMs = 10_000)
    {
        var task = Task.Run(() =>
        {
            try { read(); return null; }
            catch (Exception e) { return e; }
        });
        if (!task.Wait(timeoutMs))
        {
            unblock?.Invoke();
            Assert.Fail($"the read did not finish within {timeoutMs} ms (blocked)");
        }
        return task.Result;
    }
}
