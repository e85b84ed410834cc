using System.ComponentModel;
using Ips.Cli.Hosting;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary>
/// The <c>--plain</c> option, for commands that have no other shared settings: every command accepts it, so that a
/// script or a cluster job can pass it to any of them (the README lists it among the common options).
/// </summary>
public class PlainSettings : CommandSettings
{
    [CommandOption("--plain")]
    [Description("Plain line-by-line output instead of live progress; implied when the output is not a terminal or CI, NO_COLOR or TERM=dumb is set.")]
    public bool Plain { get; init; }

    /// <summary>True when live progress bars should be replaced by plain lines (<see cref="TerminalOutput.IsPlain(bool)"/>).</summary>
    public bool UsePlainOutput => TerminalOutput.IsPlain(Plain);
}
