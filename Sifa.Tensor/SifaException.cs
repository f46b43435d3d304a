namespace Sifa.Tensors;

/// <summary>
/// The base of the errors Sifa itself raises about its inputs and runs: bad data, checkpoints it refuses, training that
/// diverged, settings it cannot honour. Catch it to tell such failures (whose message is meant for a person and names
/// the file, key, epoch or setting concerned) from bugs. Programming errors keep the standard .NET types
/// (<see cref="ArgumentException"/>, <see cref="InvalidOperationException"/>, ...).
/// </summary>
public class SifaException : Exception
{
    /// <summary>Creates the error.</summary>
    public SifaException(string message, Exception? inner = null) : base(message, inner) { }
}
