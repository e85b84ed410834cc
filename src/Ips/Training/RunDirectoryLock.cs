using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Ips.Training;

/// <summary>
/// Exclusive use of a run directory by one training run. The file <c>run.lock</c> names the holder (process id, host,
/// start time, command line) and carries an operating-system lock (a POSIX record lock, <c>lockf</c>) that the
/// kernel drops when the process ends in any way, <c>kill -9</c> included: a file left by a dead run never blocks a
/// later one, and no pid liveness guess is needed. The file itself stays after the run, naming its last user.
/// </summary>
/// <remarks>
/// A record lock rather than .NET's <c>FileShare.None</c> (an <c>flock</c>): with <c>flock</c> a contender could not
/// even open the file to read who holds it. Record locks belong to a process, so holders inside this process are
/// tracked here as well (a second open and close of the file in the same process would silently drop its lock).
/// </remarks>
public sealed partial class RunDirectoryLock : IDisposable
{
    /// <summary>Name of the lock file in the run directory.</summary>
    public const string FileName = "run.lock";

    private const int LockTestAndSet = 2; // F_TLOCK
    private const int Again = 11; // EAGAIN
    private const int AccessDenied = 13; // EACCES

    private static readonly Dictionary<string, string> HeldInProcess = new(StringComparer.Ordinal);

    private readonly FileStream _file;
    private readonly string _path;

    private RunDirectoryLock(FileStream file, string path)
    {
        _file = file;
        _path = path;
    }

    /// <summary>Path of the lock file.</summary>
    public string Path => _path;

    /// <summary>Takes the run directory <paramref name="directory"/> (created when missing) for this process.</summary>
    /// <exception cref="RunDirectoryInUseException">Another run (in this or another process) holds it.</exception>
    public static RunDirectoryLock Acquire(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        var path = System.IO.Path.GetFullPath(System.IO.Path.Combine(directory, FileName));
        lock (HeldInProcess)
        {
            if (HeldInProcess.TryGetValue(path, out var holder))
            {
                throw new RunDirectoryInUseException(directory, holder);
            }
            var windows = OperatingSystem.IsWindows();
            FileStream file;
            try
            {
                file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, windows ? FileShare.None : FileShare.ReadWrite);
            }
            catch (IOException) when (windows)
            {
                throw new RunDirectoryInUseException(directory, "another process");
            }
            if (!windows && LockF(file.SafeFileHandle, LockTestAndSet, 0) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                using (file)
                {
                    if (errno is Again or AccessDenied)
                    {
                        using var reader = new StreamReader(file);
                        var text = reader.ReadToEnd().Trim();
                        throw new RunDirectoryInUseException(directory, text.Length > 0 ? text : "another process");
                    }
                    throw new IOException($"cannot lock {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
                }
            }
            var description = Describe();
            file.SetLength(0);
            using (var writer = new StreamWriter(file, leaveOpen: true))
            {
                writer.Write(description + "\n");
            }
            file.Flush(flushToDisk: true);
            HeldInProcess[path] = description;
            return new RunDirectoryLock(file, path);
        }
    }

    /// <summary>Releases the directory (the OS lock goes with the closed file).</summary>
    public void Dispose()
    {
        lock (HeldInProcess)
        {
            if (HeldInProcess.Remove(_path))
            {
                _file.Dispose();
            }
        }
    }

    private static string Describe()
    {
        using var process = Process.GetCurrentProcess();
        var start = process.StartTime.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        return string.Create(CultureInfo.InvariantCulture,
            $"pid {Environment.ProcessId} on host {Environment.MachineName}, started {start}: {string.Join(' ', Environment.GetCommandLineArgs())}");
    }

    [LibraryImport("libc", EntryPoint = "lockf", SetLastError = true)]
    private static partial int LockF(SafeFileHandle fd, int command, long length);
}

/// <summary>A run directory is in use by another training run; the message names the holder.</summary>
public sealed class RunDirectoryInUseException : IOException
{
    /// <summary>Creates the exception for <paramref name="directory"/>, held by <paramref name="holder"/>.</summary>
    public RunDirectoryInUseException(string directory, string holder)
        : base($"run directory {directory} is in use by another training run ({holder}); "
            + "wait for it to end or stop it, or use another --run-dir.")
    {
    }

    /// <summary>Creates the exception with a complete, user-facing message.</summary>
    public RunDirectoryInUseException(string message) : base(message) { }

    /// <summary>Creates the exception with a complete, user-facing message and the error that caused it.</summary>
    public RunDirectoryInUseException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with a generic message; prefer the overloads that name the holder.</summary>
    public RunDirectoryInUseException() : base("the run directory is in use by another training run") { }
}
