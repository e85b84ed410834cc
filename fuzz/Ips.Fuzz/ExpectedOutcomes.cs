namespace Ips.Fuzz;

/// <summary>
/// fuzz/expected.tsv: one line per committed input (the seeds of fuzz/corpus and the findings of fuzz/regressions),
/// <c>target, file under fuzz/, outcome</c>, tab-separated; lines starting with # are comments.
/// </summary>
public static class ExpectedOutcomes
{
    /// <summary>The entries of <paramref name="path"/>, in file order.</summary>
    public static IReadOnlyList<(string Target, string File, ReaderOutcome Outcome)> Read(string path) =>
        File.ReadLines(path)
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .Select(line => line.Split('\t'))
            .Select(fields => (fields[0], fields[1], Enum.Parse<ReaderOutcome>(fields[2], ignoreCase: true)))
            .ToList();

    /// <summary>
    /// Runs every input of <paramref name="path"/> (files relative to its folder) through its target and writes one
    /// line per input whose outcome differs or breaks the property, then a summary; returns 0 when none did.
    /// </summary>
    public static int Replay(string path, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var root = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var entries = Read(path);
        var wrong = 0;
        foreach (var (target, file, expected) in entries)
        {
            string got;
            try
            {
                got = ReaderProperty.Check(FuzzTargets.Named(target), File.ReadAllBytes(Path.Combine(root, file))).ToString();
            }
            catch (Exception error) when (error is ReaderPropertyException or OutOfMemoryException)
            {
                got = $"broken ({error.Message})";
            }
            if (!string.Equals(got, expected.ToString(), StringComparison.Ordinal))
            {
                wrong++;
                output.WriteLine($"{file}: expected {expected}, got {got}");
            }
        }
        output.WriteLine($"{entries.Count} inputs replayed, {wrong} differ");
        return wrong == 0 ? 0 : 1;
    }
}
