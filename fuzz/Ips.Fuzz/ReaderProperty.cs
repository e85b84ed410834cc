using Ips.Configuration;

namespace Ips.Fuzz;

/// <summary>What a reader did with an input that keeps the property.</summary>
public enum ReaderOutcome
{
    /// <summary>The reader read the file.</summary>
    Accepted,

    /// <summary>The reader refused the file with a typed user error that names it.</summary>
    Refused,
}

/// <summary>An input broke the property: the reader threw something other than a typed user error naming the file.</summary>
public sealed class ReaderPropertyException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// The property every target must keep (docs/reliability.md): an input is accepted, or refused with the typed user
/// error the CLI turns into one line (<see cref="InvalidDataException"/>, another <see cref="IOException"/> such as
/// <c>SlideFormatException</c>, <see cref="ConfigException"/>, or a plain <see cref="ArgumentException"/> thrown by ips
/// itself for a value out of range) whose message names the file. Any other exception is
/// a bug in the reader. Hangs and memory beyond the cap are caught outside: by AFL++'s time limit and the GC heap
/// limit under <c>fuzz/run</c>, by the allocation measure in the replay tests.
/// </summary>
public static class ReaderProperty
{
    /// <summary>The memory one input may make a reader allocate: 512 MiB.</summary>
    public const long MemoryCapBytes = 512L * 1024 * 1024;

    /// <summary>
    /// Writes <paramref name="input"/> to a fresh folder under the name <paramref name="target"/> expects, runs the
    /// target on it and classifies the result; <paramref name="refused"/>, when given, receives the refusal's message.
    /// </summary>
    /// <exception cref="ReaderPropertyException">The reader threw an exception that is not a typed user error naming the file.</exception>
    public static ReaderOutcome Check(FuzzTarget target, ReadOnlySpan<byte> input, Action<string>? refused = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        var folder = Directory.CreateTempSubdirectory("ips-fuzz-");
        try
        {
            var path = Path.Combine(folder.FullName, target.FileName);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, input.ToArray());
            return Check(target, path, refused);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static ReaderOutcome Check(FuzzTarget target, string path, Action<string>? refused)
    {
        try
        {
            target.Read(path);
            return ReaderOutcome.Accepted;
        }
        catch (Exception error) when (error is InvalidDataException or IOException or ConfigException || IsIpsArgumentError(error))
        {
            if (!error.Message.Contains(target.Names, StringComparison.Ordinal))
            {
                throw new ReaderPropertyException(
                    $"{target.Name}: the error does not name the input {target.Names}: {error.GetType().Name}: {error.Message}", error);
            }
            refused?.Invoke(error.Message);
            return ReaderOutcome.Refused;
        }
        catch (Exception error) when (error is not ReaderPropertyException)
        {
            throw new ReaderPropertyException($"{target.Name}: {error.GetType().FullName} instead of a user error: {error.Message}", error);
        }
    }

    // A value out of range in a config file (config.json's architecture, depth, heads): ips throws a plain
    // ArgumentException naming the file, which the CLI prints as one line like the others (UserErrors). Its
    // subclasses, and an ArgumentException from a library, are bugs: a damaged number reached an API unchecked.
    private static bool IsIpsArgumentError(Exception error) =>
        error.GetType() == typeof(ArgumentException) && error.TargetSite?.DeclaringType?.Assembly == typeof(Ips.Encoders.HubFolder).Assembly;
}
