using Ips.Cli.Hosting;
using Ips.Tests.Data;

namespace Ips.Tests.Cli;

/// <summary>
/// Every command of the tree held to the README's table of exit codes: a wrong option is 64 (usage) everywhere
/// (<see cref="CommandLineTests.An_unknown_option_is_refused"/>), an input that is not there is 66 (no input), and
/// <c>--plain</c> is accepted by all.
/// </summary>
public sealed class ExitCodeTests
{
    // Each command that reads an input, with a command line whose input does not exist.
    private static readonly Dictionary<string, string[]> MissingInput = new()
    {
        ["train"] = ["-c", "nowhere.yml"],
        ["evaluate"] = ["-c", "nowhere.yml", "-w", "nowhere.pt"],
        ["predict"] = ["nowhere.npy", "-c", "nowhere.yml", "-w", "nowhere.pt"],
        ["config check"] = ["nowhere.yml"],
        ["pretrain byol"] = ["-c", "nowhere.yml", "--out", "nowhere-run"],
        ["data camelyon16 labels"] = ["nowhere"],
        ["slides info"] = ["nowhere.tif"],
        ["slides tile"] = ["nowhere", "--out", "nowhere-out"],
        ["slides features"] = ["nowhere", "--coords", "nowhere-coords", "--encoder", "nowhere.pth", "--out", "nowhere-out"],
        ["slides pack"] = ["nowhere", "--labels", "nowhere.csv", "--out", "nowhere.hdf5"],
        ["view"] = ["nowhere", "--no-browser"],
        ["config init"] = ["nowhere", "--out", "nowhere.yml"],
        ["slides status"] = ["nowhere"],
    };

    // The commands that read no input of the user's: they fetch, generate or measure.
    private static readonly HashSet<string> NoInput =
        ["doctor", "demo", "bench", "encoders", "data mnist", "data traffic", "data megapixel-mnist", "data inspection", "data camelyon16 synthetic"];

    public static TheoryData<string> Commands() =>
        [.. CommandTree.Read().Where(c => !c.IsBranch).Select(c => string.Join(' ', c.Path))];

    [Theory]
    [MemberData(nameof(Commands))]
    public void Every_command_accepts_plain(string path)
    {
        var node = CommandTree.Read().Single(c => string.Join(' ', c.Path) == path);
        Assert.Contains("--plain", node.Options);
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void A_missing_input_exits_66_naming_it_as_not_found(string path)
    {
        // A new command must be placed in one of the two lists, so that it is held to the table too.
        Assert.True(MissingInput.ContainsKey(path) ^ NoInput.Contains(path), $"ips {path}: list it under MissingInput or NoInput");
        if (!MissingInput.TryGetValue(path, out var args))
        {
            return;
        }
        using var dir = new TempDir();
        var (code, output) = CommandLineTests.Ips([.. path.Split(' '), .. args.Select(a => a.StartsWith("nowhere", StringComparison.Ordinal) ? Path.Combine(dir.Path, a) : a)]);
        Assert.True(code == 66, $"ips {path} exited {code}:\n{output}");
        Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Matches("^error: .*nowhere.*not found", output);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path));
    }
}
