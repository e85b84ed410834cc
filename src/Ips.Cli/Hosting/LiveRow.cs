using Spectre.Console;

namespace Ips.Cli.Hosting;

/// <summary>
/// A live progress row that fits the terminal. Spectre shares a row's width among its columns and, when they do not
/// all fit, squeezes the description down to a lone "…", which is all a long description showed at 80 columns. So
/// below <see cref="WideTerminal"/> columns the row keeps a short bar and the percentage only, and the description
/// (whose start, epoch and step, matters most) is cut to what is left.
/// </summary>
internal static class LiveRow
{
    /// <summary>Terminals at least this wide get every column at its usual width: the columns besides the
    /// description take 66, the longest description (pretrain byol's) about 80.</summary>
    public const int WideTerminal = 150;

    // A narrow row: description, a bar of NarrowBar, "100%" (4), and a space between columns.
    private const int NarrowBar = 10;
    private const int NarrowColumns = NarrowBar + 4 + 2;

    /// <summary>The columns of a row of a terminal <paramref name="width"/> columns wide.</summary>
    public static ProgressColumn[] Columns(int width) => width >= WideTerminal
        ? [new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn()]
        : [new TaskDescriptionColumn(), new ProgressBarColumn { Width = NarrowBar }, new PercentageColumn()];

    /// <summary><paramref name="description"/> (plain text, not markup) cut with "…" to fit a row of
    /// <see cref="Columns"/> in a terminal <paramref name="width"/> columns wide, and escaped as markup.</summary>
    public static string Describe(string description, int width)
    {
        ArgumentNullException.ThrowIfNull(description);
        // One column spare: a row that reaches the last column makes some terminals wrap, and the redraw then climbs.
        var room = width >= WideTerminal ? int.MaxValue : Math.Max(1, width - NarrowColumns - 1);
        var text = description.Length <= room ? description : description[..(room - 1)].TrimEnd() + "…";
        return Markup.Escape(text);
    }
}
