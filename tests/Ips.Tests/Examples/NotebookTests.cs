using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Xunit.Abstractions;

namespace Ips.Tests.Examples;

/// <summary>
/// examples/ips_example.ipynb as a reader runs it: in a fresh copy of the repository after the README's first command,
/// against the library packed as a NuGet package by that command's build (so only public API compiles) and found
/// through examples/nuget.config, executed headlessly by dotnet-repl (the repository's local .NET tool), every cell
/// free of errors, and the test accuracy it prints well above chance.
/// </summary>
[Collection(NotebookCollection.Name)]
public sealed partial class NotebookTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>Chance is 10 %; the notebook's four epochs on 2,000 digits reached 69.8 % when its executed copy was made.</summary>
    private const double AccuracyBound = 50;

    private readonly string _work = Directory.CreateTempSubdirectory("ips-notebook-test-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public void The_notebook_references_the_version_the_library_is_packed_as()
    {
        Assert.Equal(ProjectVersion(), NotebookPackageVersion());
    }

    [Fact]
    public void The_notebook_runs_cell_by_cell_and_learns_in_a_fresh_copy_after_the_first_readme_command()
    {
        // A user's fresh clone: the repository's files (committed or not, ignored ones left out) copied elsewhere, the
        // README's first command's build (`./ips` builds the program, and with it packs the library), then the
        // notebook run from its folder with no package source or variable given: examples/nuget.config must suffice.
        var clone = Path.Combine(_work, "clone");
        CopyWorkingTree(RepositoryFiles.Path("."), clone);
        _ = Run("bash", [Path.Combine(clone, "ips"), "--version"], clone);
        Assert.True(File.Exists(Path.Combine(clone, "artifacts", "packages", $"Ips.{ProjectVersion()}.nupkg")), "the build packed no library into artifacts/packages");

        var executed = Path.Combine(_work, "executed.ipynb");
        // dotnet-repl exits non-zero when a cell fails; the cells' own errors below say more, so they are checked first.
        var exitCode = Run("dotnet", ["tool", "run", "dotnet-repl", "--", "--run", "ips_example.ipynb", "--exit-after-run", "--output-path", executed],
            Path.Combine(clone, "examples"), mustSucceed: false);
        Assert.True(File.Exists(executed), $"dotnet-repl wrote no executed notebook (exit code {exitCode})");

        using var notebook = JsonDocument.Parse(File.ReadAllText(executed));
        var codeCells = notebook.RootElement.GetProperty("cells").EnumerateArray()
            .Where(cell => cell.GetProperty("cell_type").GetString() == "code")
            .ToList();
        Assert.NotEmpty(codeCells);
        var printed = new List<string>();
        foreach (var (cell, number) in codeCells.Select((cell, i) => (cell, i + 1)))
        {
            var outputs = cell.GetProperty("outputs").EnumerateArray().ToList();
            var errors = outputs.Where(o => o.GetProperty("output_type").GetString() == "error")
                .Select(o => o.GetProperty("evalue").GetString())
                .ToList();
            Assert.True(errors.Count == 0, $"code cell {number} failed: {string.Join(" | ", errors)}");
            printed.AddRange(outputs
                .Where(o => o.GetProperty("output_type").GetString() == "stream")
                .Select(o => string.Concat(o.GetProperty("text").EnumerateArray().Select(t => t.GetString()))));
        }
        var text = string.Concat(printed);
        output.WriteLine(text);

        var accuracy = TestAccuracyLine().Match(text);
        Assert.True(accuracy.Success, "the notebook printed no 'test accuracy: N%' line");
        Assert.True(double.Parse(accuracy.Groups[1].Value, CultureInfo.InvariantCulture) > AccuracyBound,
            $"test accuracy {accuracy.Groups[1].Value}% is not above {AccuracyBound}%");
        Assert.Contains(codeCells[^1].GetProperty("outputs").EnumerateArray(),
            o => o.TryGetProperty("data", out var data) && data.TryGetProperty("image/png", out _));
        Assert.Equal(0, exitCode);
    }

    // The files git would put in a clone, plus the untracked ones it does not ignore (so uncommitted work is tested too).
    private static void CopyWorkingTree(string root, string destination)
    {
        var list = new ProcessStartInfo("git", ["-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        {
            RedirectStandardOutput = true,
        };
        using var git = Process.Start(list) ?? throw new InvalidOperationException("could not start git");
        var files = git.StandardOutput.ReadToEnd().Split('\0', StringSplitOptions.RemoveEmptyEntries);
        git.WaitForExit();
        Assert.True(git.ExitCode == 0 && files.Length > 0, $"git ls-files in {root} exited with {git.ExitCode}");
        foreach (var file in files.Where(f => File.Exists(Path.Combine(root, f))))
        {
            var target = Path.Combine(destination, file);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(Path.Combine(root, file), target);
        }
    }

    private int Run(string program, IEnumerable<string> arguments, string workingDirectory, bool mustSucceed = true)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        // What the README's user does not have: a package source given through MSBuild's environment.
        start.Environment.Remove("RestoreAdditionalProjectSources");
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            output.WriteLine(stdout.Result);
            output.WriteLine(stderr.Result);
        }
        Assert.True(!mustSucceed || process.ExitCode == 0, $"{program} {string.Join(' ', start.ArgumentList)} exited with {process.ExitCode}: {stderr.Result}");
        return process.ExitCode;
    }

    private static string ProjectVersion() =>
        XDocument.Load(RepositoryFiles.Path("Directory.Build.props")).Descendants("Version").Single().Value;

    private static string NotebookPackageVersion()
    {
        var source = File.ReadAllText(RepositoryFiles.Path("examples/ips_example.ipynb"));
        var reference = PackageReference().Match(source);
        Assert.True(reference.Success, "examples/ips_example.ipynb has no #r \"nuget: Ips, VERSION\" line");
        return reference.Groups[1].Value;
    }

    [GeneratedRegex(@"test accuracy: ([0-9]+(?:\.[0-9]+)?)%")]
    private static partial Regex TestAccuracyLine();

    [GeneratedRegex(@"#r \\""nuget: Ips, ([^\\""]+)\\""")]
    private static partial Regex PackageReference();
}

/// <summary>The notebook trains a network in another process: it runs alone so the machine's cores are its own.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NotebookCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Notebook";
}
