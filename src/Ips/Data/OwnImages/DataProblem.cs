namespace Ips.Data.OwnImages;

/// <summary>One thing wrong with a data set, found when it opens: the file or place it concerns and what is wrong.</summary>
/// <param name="Where">The file relative to <c>data_dir</c>, or a place such as <c>labels.csv line 7</c>.</param>
/// <param name="Message">What is wrong and, where it helps, what to do.</param>
/// <param name="Train">The split it concerns: true for training, false for test.</param>
public sealed record DataProblem(string Where, string Message, bool Train)
{
    /// <summary>The problem as one line: <c>where: message</c>.</summary>
    public override string ToString() => $"{Where}: {Message}";
}

/// <summary>
/// A data set that opened with problems and was not asked to skip them: its message lists every problem on a line
/// of its own, so the user can fix them all at once or train with <c>--skip-bad</c>.
/// </summary>
public sealed class DataProblemsException : IOException
{
    /// <summary>Creates the exception for the problems of <paramref name="dataDir"/>.</summary>
    public DataProblemsException(string dataDir, IReadOnlyList<DataProblem> problems)
        : base(Describe(dataDir, problems))
    {
        Problems = problems;
    }

    /// <summary>The problems, in the order they were found.</summary>
    public IReadOnlyList<DataProblem> Problems { get; }

    private static string Describe(string dataDir, IReadOnlyList<DataProblem> problems) =>
        $"data_dir '{dataDir}': {problems.Count} problem(s); fix them, or add --skip-bad to leave those images out:" + Environment.NewLine +
        string.Join(Environment.NewLine, problems.Select(p => "  " + p));
}

/// <summary>A data set that checks its examples when it opens and reports what it left out.</summary>
public interface ICheckedDataset : IIpsDataset
{
    /// <summary>The problems found when the split opened; the examples they concern are not in <see cref="IIpsDataset.Count"/>.</summary>
    IReadOnlyList<DataProblem> Problems { get; }
}
