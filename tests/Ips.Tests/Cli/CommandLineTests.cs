using Ips.Cli;
using Ips.Cli.Hosting;
using Spectre.Console;

namespace Ips.Tests.Cli;

/// <summary>The command line of every command, enumerated from the command tree itself: help renders, unknown options are refused.</summary>
public sealed class CommandLineTests
{
    /// <summary>Runs a command line in process; returns the exit code and what it wrote (help, errors).</summary>
    internal static (int Code, string Output) Ips(params string[] args)
    {
        var text = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(text), Ansi = AnsiSupport.No });
        console.Profile.Width = 1000;
        var code = CliApp.Run(args, console);
        return (code, text.ToString());
    }

    public static TheoryData<string> Commands() => [.. CommandTree.Read().Select(c => string.Join(' ', c.Path))];

    [Fact]
    public void The_tree_holds_the_commands_of_the_readme()
    {
        var paths = CommandTree.Read().Select(c => string.Join(' ', c.Path)).ToList();
        foreach (var command in new[] { "doctor", "demo", "train", "evaluate", "predict", "bench", "data", "data mnist", "data megapixel-mnist", "config check" })
        {
            Assert.Contains(command, paths);
        }
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void Help_renders_every_option_and_description(string path)
    {
        var node = CommandTree.Read().Single(c => string.Join(' ', c.Path) == path);
        var (code, output) = Ips([.. node.Path, "--help"]);
        Assert.True(code == 0, $"ips {path} --help exited {code}:\n{output}");
        Assert.Contains("USAGE:", output);
        foreach (var option in node.Options)
        {
            Assert.Contains(option, output);
        }
    }

    [Fact]
    public void Help_shows_brackets_of_descriptions_as_text()
    {
        var (code, output) = Ips("predict", "--help");
        Assert.Equal(0, code);
        Assert.Contains("[N, n_chan_in]", output);
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void An_unknown_option_is_refused(string path)
    {
        var node = CommandTree.Read().Single(c => string.Join(' ', c.Path) == path);
        string[] args = [.. node.Path, .. node.RequiredArguments.Select(_ => "x"), "--no-such-option", "1"];
        var (code, output) = Ips(args);
        Assert.Equal(64, code);
        Assert.Contains($"unknown option '--no-such-option'", output);
    }

    [Theory]
    [InlineData("--atention-dir", "--attention-dir", "predict", "x.png")]
    [InlineData("--sett", "--set", "train")]
    [InlineData("--dry-runn", "--dry-run", "train")]
    [InlineData("--n-trian", "--n-train", "data", "megapixel-mnist", "out")]
    public void A_misspelt_option_names_the_nearest_one(string wrong, string right, params string[] command)
    {
        var (code, output) = Ips([.. command, wrong, "1"]);
        Assert.Equal(64, code);
        Assert.Contains($"ips {string.Join(' ', command.TakeWhile(w => w is not ("x.png" or "out")))}: unknown option '{wrong}'; did you mean '{right}'?", output);
    }

    [Theory]
    [InlineData("ips doctor: unexpected argument 'extra'", "doctor", "extra")]
    [InlineData("ips data: unknown command 'mnsit'; did you mean 'mnist'?", "data", "mnsit")]
    [InlineData("ips: unknown command 'trian'; did you mean 'train'?", "trian")]
    [InlineData("ips: unknown command 'zzzzzzzz'; its commands are ", "zzzzzzzz")]
    public void A_word_that_names_no_command_is_refused_with_the_command_it_was_given_to(string message, params string[] args)
    {
        var (code, output) = Ips(args);
        Assert.Equal(64, code);
        Assert.Contains(message, output);
    }

    [Fact]
    public void Arguments_after_a_double_dash_are_refused()
    {
        var (code, output) = Ips("data", "mnist", "--", "extra");
        Assert.Equal(64, code);
        Assert.Contains("ips data mnist: unexpected argument(s) 'extra'", output);
    }

    [Fact]
    public void Version_prints_the_informational_version()
    {
        var (code, output) = Ips("--version");
        Assert.Equal(0, code);
        Assert.Equal(BuildInfo.Version, output.Trim());
        Assert.Matches(@"^\d+\.\d+\.\d+", output.Trim());
    }

    [Theory]
    [InlineData(0.00001, "0.00001")]
    [InlineData(0.0005, "0.0005")]
    [InlineData(3.5e-7, "0.00000035")]
    public void Learning_rates_print_as_plain_decimals(double lr, string text) =>
        Assert.Equal(text, global::Ips.Training.RunLog.PlainDecimal(lr));

    [Theory]
    [InlineData(2.5, "2.50 it/s")]
    [InlineData(0.25, "4.00 s/it")]
    public void Progress_shows_seconds_per_iteration_below_one_a_second(double rate, string text) =>
        Assert.Equal(text, global::Ips.Cli.Commands.EpochProgress.FormatRate(rate));

    internal static string RepoConfig(string name) => Configuration.ConfigSyntaxErrorTests.RepoConfig(name);
}
