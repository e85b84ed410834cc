using System.ComponentModel;
using System.Diagnostics;
using Ips.IO;
using Ips.Cli.Hosting;
using Ips.Viewer;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary>Options of <c>ips view</c>.</summary>
public sealed class ViewSettings : PlainSettings
{
    [CommandArgument(0, "<SLIDE_OR_DIR>")]
    [Description("A slide, or a folder of slides (searched with its subfolders), to view.")]
    public string Input { get; init; } = "";

    [CommandOption("--predictions <FILE_OR_DIR>")]
    [Description("The JSON of `ips predict --out` (or a folder of them): each slide's probability, and its selected tiles with their attention.")]
    public string? Predictions { get; init; }

    [CommandOption("--coords <DIR>")]
    [Description("Tile coordinates of `ips slides tile` (NAME.h5): the tissue tiles, drawn as outlines.")]
    public string? Coords { get; init; }

    [CommandOption("--annotations <DIR>")]
    [Description("ASAP XML annotations (NAME.xml): the tumour outlines.")]
    public string? Annotations { get; init; }

    [CommandOption("--port <N>")]
    [Description("Port on 127.0.0.1 (0: any free port).")]
    [DefaultValue(8787)]
    public int Port { get; init; } = 8787;

    [CommandOption("--no-browser")]
    [Description("Only print the address; do not open a browser.")]
    public bool NoBrowser { get; init; }

    /// <inheritdoc />
    public override ValidationResult Validate() => Port is < 0 or > 65535
        ? ValidationResult.Error($"--port {Port}: expected 0 (any free port) to 65535")
        : ValidationResult.Success();
}

/// <summary>
/// <c>ips view</c>: serves the slides and their predictions to the browser until Ctrl-C or SIGTERM (exit 130 or 143).
/// </summary>
public sealed class ViewCommand : Command<ViewSettings>
{
    /// <inheritdoc />
    protected override int Execute(CommandContext context, ViewSettings settings, CancellationToken cancellationToken)
    {
        var catalog = ViewerCatalog.Open(settings.Input, settings.Predictions, settings.Coords, settings.Annotations);
        if (catalog.Slides.Count == 0)
        {
            throw new NoInputException($"{settings.Input}: no slides in this folder (looked for {string.Join(", ", Slides.SlideOpener.SlideExtensions)})");
        }
        using var stop = StopSignals.StoppingServer(cancellationToken);
        ViewerServer server;
        try
        {
            server = ViewerServer.StartAsync(catalog, settings.Port, cancellationToken: stop.Token).GetAwaiter().GetResult();
        }
        catch (PortInUseException error)
        {
            throw new UsageException(error.Message);
        }
        try
        {
            int predicted = catalog.Slides.Count(s => s.Prediction is not null);
            AnsiConsole.MarkupLine($"ips view: {catalog.Slides.Count} slide(s), {predicted} with predictions, at [blue]{Markup.Escape(server.Address.ToString())}[/] (Ctrl-C stops)");
            if (!settings.NoBrowser)
            {
                OpenBrowser(server.Address);
            }
            stop.Token.WaitHandle.WaitOne();
        }
        finally
        {
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        AnsiConsole.MarkupLine("ips view: stopped");
        return stop.ExitCode;
    }

    // The desktop's browser through xdg-open; on a machine without one (a server reached over SSH) the printed
    // address is what the user opens, with the port forwarded.
    private static void OpenBrowser(Uri address)
    {
        try
        {
            using var opener = Process.Start(new ProcessStartInfo("xdg-open", address.ToString()) { UseShellExecute = false, RedirectStandardError = true });
        }
        catch (System.ComponentModel.Win32Exception)
        {
            AnsiConsole.MarkupLine("ips view: no xdg-open to start a browser; open the address above in one (over SSH: ssh -L PORT:127.0.0.1:PORT)");
        }
    }
}
