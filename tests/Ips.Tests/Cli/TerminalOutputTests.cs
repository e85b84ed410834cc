using Ips.Cli.Hosting;
using Spectre.Console;

namespace Ips.Tests.Cli;

/// <summary>The one rule every command uses to choose between live progress bars and plain lines.</summary>
public sealed class TerminalOutputTests
{
    /// <summary>An environment of <c>NAME=VALUE</c> pairs separated by ';' ("" for none).</summary>
    private static Func<string, string?> Environment(string variables)
    {
        var values = variables.Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2))
            .ToDictionary(pair => pair[0], pair => pair[1], StringComparer.Ordinal);
        return name => values.GetValueOrDefault(name);
    }

    [Theory]
    [InlineData(false, false, "", false)]
    [InlineData(false, false, "TERM=xterm-256color", false)]
    [InlineData(true, false, "TERM=xterm-256color", true)]
    [InlineData(false, true, "TERM=xterm-256color", true)]
    [InlineData(false, false, "CI=1", true)]
    [InlineData(false, false, "CI=true;TERM=xterm", true)]
    [InlineData(false, false, "CI=", false)]
    [InlineData(false, false, "NO_COLOR=1", true)]
    [InlineData(false, false, "NO_COLOR=", false)]
    [InlineData(false, false, "TERM=dumb", true)]
    [InlineData(false, false, "TERM=", false)]
    [InlineData(true, true, "CI=1;NO_COLOR=1;TERM=dumb", true)]
    public void Output_is_plain_for_the_flag_a_redirect_CI_NO_COLOR_or_a_dumb_terminal(bool flag, bool redirected, string variables, bool plain)
    {
        Assert.Equal(plain, TerminalOutput.IsPlain(flag, redirected, Environment(variables)));
    }

    [Theory]
    [InlineData("NO_COLOR=1", true)]
    [InlineData("NO_COLOR=0", true)]
    [InlineData("NO_COLOR=", false)]
    [InlineData("TERM=dumb", false)]
    [InlineData("", false)]
    public void NO_COLOR_with_a_value_asks_for_no_colour(string variables, bool noColour)
    {
        Assert.Equal(noColour, TerminalOutput.NoColour(Environment(variables)));
    }

    [Fact]
    public void The_program_console_has_no_colours_under_NO_COLOR()
    {
        var console = TerminalOutput.CreateConsole(Environment("NO_COLOR=1;TERM=xterm-256color;COLORTERM=truecolor"));

        Assert.Equal(ColorSystem.NoColors, console.Profile.Capabilities.ColorSystem);
    }
}
