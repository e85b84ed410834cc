using Spectre.Console;

namespace Ips.Cli.Hosting;

/// <summary>
/// How every command writes to the terminal: live progress bars, or plain lines that read well in a log. One rule for
/// all commands, so that a CI job or a pipe never gets redrawn bars from one command and plain lines from another.
/// </summary>
internal static class TerminalOutput
{
    /// <summary>
    /// True when progress should be plain lines: <c>--plain</c> was given; stdout is not a terminal (a log file, a
    /// pipe); <c>CI</c> is set (CI services capture output without a terminal to redraw in); <c>NO_COLOR</c> is set
    /// (https://no-color.org: whoever turns colour off wants unadorned text); or <c>TERM</c> is <c>dumb</c> (a
    /// terminal that cannot move the cursor). A variable set to the empty string counts as unset, as no-color.org says.
    /// </summary>
    /// <param name="plainFlag">Whether <c>--plain</c> was given.</param>
    /// <param name="outputRedirected">Whether stdout is redirected (<see cref="Console.IsOutputRedirected"/>).</param>
    /// <param name="environment">Reads an environment variable; null when it is not set.</param>
    public static bool IsPlain(bool plainFlag, bool outputRedirected, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return plainFlag || outputRedirected || IsSet(environment, "CI") || NoColour(environment) || environment("TERM") == "dumb";
    }

    /// <summary><see cref="IsPlain(bool, bool, Func{string, string?})"/> for this process.</summary>
    public static bool IsPlain(bool plainFlag) => IsPlain(plainFlag, Console.IsOutputRedirected, Environment.GetEnvironmentVariable);

    /// <summary>True when <c>NO_COLOR</c> asks for output without colour.</summary>
    public static bool NoColour(Func<string, string?> environment) => IsSet(environment, "NO_COLOR");

    /// <summary>
    /// The console the program writes through: Spectre's own detection of the terminal, with colour off when
    /// <c>NO_COLOR</c> says so. Spectre reads <c>NO_COLOR</c> too, but how is its detail (a set empty value also
    /// counts there); the rule above is this program's, so it sets the colour system itself.
    /// </summary>
    public static IAnsiConsole CreateConsole(Func<string, string?> environment) => CreateConsole(environment, Console.IsOutputRedirected);

    /// <summary>
    /// <see cref="CreateConsole(Func{string, string?})"/>, where redirected output (a log, a pipe) is never wrapped:
    /// Spectre assumes 80 columns when there is no terminal to ask, which splits paths and error lines that a
    /// reader of the log or a grep needs whole.
    /// </summary>
    public static IAnsiConsole CreateConsole(Func<string, string?> environment, bool outputRedirected)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            ColorSystem = NoColour(environment) ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
        });
        if (outputRedirected)
        {
            console.Profile.Width = UnwrappedWidth;
        }
        return console;
    }

    // Wide enough for any line we print, small enough that Spectre's tables do not pad to absurd widths: they take
    // the width of their content, not of the console.
    private const int UnwrappedWidth = 10_000;

    private static bool IsSet(Func<string, string?> environment, string name) => !string.IsNullOrEmpty(environment(name));
}
