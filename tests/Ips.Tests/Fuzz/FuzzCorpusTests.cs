using System.Diagnostics;
using Ips.Fuzz;

namespace Ips.Tests.Fuzz;

/// <summary>
/// Replays the committed fuzz corpus through the fuzz targets, without a fuzzer (docs/reliability.md): the seeds of
/// fuzz/corpus and every input that once crashed, hung or over-allocated (fuzz/regressions) must give the outcome
/// fuzz/expected.tsv records for it and keep the property (accepted, or refused with a typed error naming the file),
/// also when the process may hold no more than the 512 MiB cap.
/// </summary>
public sealed class FuzzCorpusTests
{
    private static readonly string FuzzRoot = RepositoryFiles.Path("fuzz");
    private static readonly string ExpectedFile = Path.Combine(FuzzRoot, "expected.tsv");

    public static TheoryData<string, string, string> Expected()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (target, file, outcome) in ExpectedOutcomes.Read(ExpectedFile))
        {
            data.Add(target, file, outcome.ToString());
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Expected))]
    public void CommittedInputGivesItsRecordedOutcome(string target, string file, string outcome)
    {
        var result = ReaderProperty.Check(FuzzTargets.Named(target), File.ReadAllBytes(Path.Combine(FuzzRoot, file)));

        Assert.Equal(outcome, result.ToString());
    }

    // The replay of fuzz/run's smoke, in a process whose managed heap is capped at 512 MiB as under AFL++: an input
    // whose header makes a reader allocate beyond the cap fails here, where the test host's own heap would not.
    [Fact]
    public async Task WholeCorpusGivesItsRecordedOutcomesWithinTheMemoryCap()
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // The test host's runtime and dependency files name every library the targets load.
        var host = Path.Combine(AppContext.BaseDirectory, "Ips.Tests");
        foreach (var argument in new[] { "exec", "--runtimeconfig", host + ".runtimeconfig.json", "--depsfile", host + ".deps.json",
            typeof(ReaderProperty).Assembly.Location, "--replay", ExpectedFile })
        {
            info.ArgumentList.Add(argument);
        }
        info.Environment["DOTNET_GCHeapHardLimit"] = $"0x{ReaderProperty.MemoryCapBytes:x}";
        using var process = Process.Start(info)!;
        var errors = process.StandardError.ReadToEndAsync();
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.True(process.ExitCode == 0, output + await errors);
        Assert.Contains($"{ExpectedOutcomes.Read(ExpectedFile).Count} inputs replayed, 0 differ", output, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryCommittedInputHasARecordedOutcome()
    {
        var listed = ExpectedOutcomes.Read(ExpectedFile).Select(entry => entry.File);
        var committed = new[] { "corpus", "regressions" }
            .SelectMany(folder => Directory.EnumerateFiles(Path.Combine(FuzzRoot, folder), "*", SearchOption.AllDirectories))
            .Select(path => Path.GetRelativePath(FuzzRoot, path).Replace('\\', '/'));

        Assert.Equal(committed.Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
        // Each input sits in the folder of the target it is replayed through.
        Assert.All(ExpectedOutcomes.Read(ExpectedFile), entry => Assert.Equal(entry.Target, entry.File.Split('/')[1]));
    }

    [Fact]
    public void EveryTargetHasSeeds()
    {
        var seeded = ExpectedOutcomes.Read(ExpectedFile).Where(entry => entry.File.StartsWith("corpus/", StringComparison.Ordinal))
            .Select(entry => entry.Target).Distinct();

        Assert.Equal(FuzzTargets.All.Select(target => target.Name).Order(StringComparer.Ordinal), seeded.Order(StringComparer.Ordinal));
    }
}
