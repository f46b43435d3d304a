using System.Runtime.InteropServices;

namespace Sifa.Distributed;

/// <summary>The Open MPI library is missing or not Open MPI 4.x (the message says what to install).</summary>
public sealed class MpiLibraryException : Sifa.Tensors.SifaException
{
    /// <summary>Creates the exception.</summary>
    public MpiLibraryException(string message) : base(message) { }
}

/// <summary>
/// The few Open MPI entry points Sifa uses, bound at run time from <c>libmpi.so.40</c> (Open MPI 4.x): MPI.NET targets
/// MS-MPI and fails on Linux. Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are the addresses of
/// exported structs such as <c>ompi_mpi_comm_world</c>; a request is a pointer too.
/// </summary>
internal sealed unsafe class MpiNative
{
    public const int ThreadSerialized = 2; // MPI_THREAD_SERIALIZED in Open MPI's mpi.h
    public static readonly IntPtr InPlace = 1; // MPI_IN_PLACE is ((void *) 1)

    public readonly IntPtr CommWorld, Float, Double, Byte, OpSum, OpMax, ErrorsReturn;
    public readonly delegate* unmanaged[Cdecl]<int*, IntPtr, int, int*, int> InitThread;
    public readonly delegate* unmanaged[Cdecl]<int*, int> Initialized, Finalized;
    public readonly delegate* unmanaged[Cdecl]<int> Finalize;
    public readonly delegate* unmanaged[Cdecl]<IntPtr, int*, int> CommRank, CommSize;
    public readonly delegate* unmanaged[Cdecl]<IntPtr, IntPtr, int> CommSetErrhandler;
    public readonly delegate* unmanaged[Cdecl]<IntPtr, IntPtr, int, IntPtr, IntPtr, IntPtr, IntPtr*, int> Iallreduce;
    public readonly delegate* unmanaged[Cdecl]<IntPtr, int, IntPtr, int, IntPtr, IntPtr*, int> Ibcast;
    public readonly delegate* unmanaged[Cdecl]<IntPtr, IntPtr*, int> Ibarrier;
    public readonly delegate* unmanaged[Cdecl]<IntPtr*, int*, IntPtr, int> Test;
    public readonly delegate* unmanaged[Cdecl]<IntPtr, int, int> Abort;
    public readonly delegate* unmanaged[Cdecl]<int, byte*, int*, int> ErrorString;
    public readonly delegate* unmanaged[Cdecl]<byte*, int*, int> GetLibraryVersion;

    private MpiNative(IntPtr lib)
    {
        IntPtr F(string name) => NativeLibrary.TryGetExport(lib, name, out var p) ? p
            : throw new MpiLibraryException($"libmpi has no symbol '{name}' (Sifa needs Open MPI 4.x: apt-get install openmpi-bin libopenmpi-dev)");
        CommWorld = F("ompi_mpi_comm_world"); Float = F("ompi_mpi_float"); Double = F("ompi_mpi_double"); Byte = F("ompi_mpi_byte");
        OpSum = F("ompi_mpi_op_sum"); OpMax = F("ompi_mpi_op_max"); ErrorsReturn = F("ompi_mpi_errors_return");
        InitThread = (delegate* unmanaged[Cdecl]<int*, IntPtr, int, int*, int>)F("MPI_Init_thread");
        Initialized = (delegate* unmanaged[Cdecl]<int*, int>)F("MPI_Initialized");
        Finalized = (delegate* unmanaged[Cdecl]<int*, int>)F("MPI_Finalized");
        Finalize = (delegate* unmanaged[Cdecl]<int>)F("MPI_Finalize");
        CommRank = (delegate* unmanaged[Cdecl]<IntPtr, int*, int>)F("MPI_Comm_rank");
        CommSize = (delegate* unmanaged[Cdecl]<IntPtr, int*, int>)F("MPI_Comm_size");
        CommSetErrhandler = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, int>)F("MPI_Comm_set_errhandler");
        Iallreduce = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr, int, IntPtr, IntPtr, IntPtr, IntPtr*, int>)F("MPI_Iallreduce");
        Ibcast = (delegate* unmanaged[Cdecl]<IntPtr, int, IntPtr, int, IntPtr, IntPtr*, int>)F("MPI_Ibcast");
        Ibarrier = (delegate* unmanaged[Cdecl]<IntPtr, IntPtr*, int>)F("MPI_Ibarrier");
        Test = (delegate* unmanaged[Cdecl]<IntPtr*, int*, IntPtr, int>)F("MPI_Test");
        Abort = (delegate* unmanaged[Cdecl]<IntPtr, int, int>)F("MPI_Abort");
        ErrorString = (delegate* unmanaged[Cdecl]<int, byte*, int*, int>)F("MPI_Error_string");
        GetLibraryVersion = (delegate* unmanaged[Cdecl]<byte*, int*, int>)F("MPI_Get_library_version");
    }

    private const int RtldNow = 2, RtldGlobal = 0x100;

    [DllImport("libc", EntryPoint = "dlopen")]
    private static extern IntPtr DlOpen(string file, int mode);

    [DllImport("libc", EntryPoint = "dlerror")]
    private static extern IntPtr DlError();

    /// <summary>
    /// Loads libmpi with RTLD_GLOBAL (Open MPI's plug-ins, opened later with dlopen, resolve their symbols against
    /// it); a missing library is one line naming it and the package that provides it.
    /// </summary>
    public static MpiNative Load()
    {
        string? why = null;
        var own = Environment.GetEnvironmentVariable("SIFA_LIBMPI");
        foreach (var name in string.IsNullOrEmpty(own) ? new[] { "libmpi.so.40", "libmpi.so" } : new[] { own })
        {
            IntPtr h = OperatingSystem.IsLinux() ? DlOpen(name, RtldNow | RtldGlobal) : (NativeLibrary.TryLoad(name, out var p) ? p : 0);
            if (h != 0) return new MpiNative(h);
            if (OperatingSystem.IsLinux() && why == null && DlError() is var e && e != 0) why = Marshal.PtrToStringUTF8(e);
        }
        throw new MpiLibraryException($"running under mpirun but the Open MPI library {(string.IsNullOrEmpty(own) ? "libmpi.so.40" : own)} could not be loaded ({why ?? "not found"}); " +
            "install it (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev) or set SIFA_LIBMPI to its path");
    }

    public string Error(int code)
    {
        var buf = stackalloc byte[512];
        int len = 0;
        return ErrorString(code, buf, &len) == 0 ? Marshal.PtrToStringUTF8((IntPtr)buf, len) : $"MPI error {code}";
    }

    public string Version()
    {
        var buf = stackalloc byte[8192];
        int len = 0;
        if (GetLibraryVersion(buf, &len) != 0) return "Open MPI";
        var s = Marshal.PtrToStringUTF8((IntPtr)buf, len);
        return s.Split(',', '\n')[0].Trim();
    }
}
