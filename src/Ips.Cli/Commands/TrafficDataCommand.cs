using System.ComponentModel;
using System.Globalization;
using Ips.Cli.Hosting;
using Ips.Data.Traffic;
using Ips.IO;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary>Options of <c>ips data traffic</c>.</summary>
public sealed class TrafficDataSettings : CommandSettings
{
    [CommandOption("--dir <DIR>")]
    [Description("The data set folder: fetched into when absent or empty, else checked (extracted or with its Set1Part0.zip / Set2Part0.zip). Default data/traffic/dsets, the data_dir of configs/traffic.yml.")]
    [DefaultValue("data/traffic/dsets")]
    public string Dir { get; init; } = "data/traffic/dsets";

    [CommandOption("--base-url <URL>")]
    [Description("Where Set1/ and Set2/ are served (a mirror of the official tree). Default: the data set's home at Linköping University.")]
    public string? BaseUrl { get; init; }

    [CommandOption("--md5 <FILE=HASH>")]
    [Description("Expected md5 of a file, e.g. Set1/annotations.txt=9106a905a86209c95dc9b51d12f520d6 (repeatable). The official sums of the annotation files are checked for the official base URL.")]
    public string[] Md5 { get; init; } = [];

    [CommandOption("--no-verify")]
    [Description("Skip the md5 checks.")]
    public bool NoVerify { get; init; }

    [CommandOption("--stats")]
    [Description("Print the kept images per class and split (seed 0: train Set1, test Set2; --seed 1 swaps them).")]
    public bool Stats { get; init; }

    [CommandOption("--seed <SEED>")]
    [Description("The config seed that chooses which set is the training one, for --stats.")]
    [DefaultValue(0)]
    public int Seed { get; init; }

    [CommandOption("--plain")]
    [Description("Plain line-by-line progress instead of live progress bars; implied when the output is not a terminal or CI, NO_COLOR or TERM=dumb is set.")]
    public bool Plain { get; init; }

    /// <summary>--md5 items as file -> hash.</summary>
    public Dictionary<string, string> Md5Sums()
    {
        var sums = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in Md5)
        {
            var equals = item.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new ArgumentException($"--md5 {item}: expected FILE=HASH, e.g. Set1/annotations.txt=9106a905a86209c95dc9b51d12f520d6.");
            }
            sums[item[..equals]] = item[(equals + 1)..];
        }
        return sums;
    }
}

/// <summary><c>ips data traffic</c>: fetch (or check) the Swedish traffic signs data set, optionally with its statistics.</summary>
public sealed class TrafficDataCommand : AsyncCommand<TrafficDataSettings>
{
    /// <inheritdoc />
    protected override async Task<int> ExecuteAsync(CommandContext context, TrafficDataSettings settings, CancellationToken cancellationToken)
    {
        var baseUrl = settings.BaseUrl ?? TrafficFetcher.DefaultBaseUrl;
        var md5 = TrafficFetcher.ChecksumsFor(baseUrl, settings.Md5Sums(), !settings.NoVerify);
        using var client = new HttpClient { Timeout = TimeSpan.FromMinutes(30) };
        bool downloaded;
        if (TerminalOutput.IsPlain(settings.Plain))
        {
            var lastReported = new Dictionary<string, long>();
            var progress = new SynchronousProgress<DownloadProgress>(p =>
            {
                var step = p.Total is { } t ? Math.Max(1, t / 10) : 10L << 20;
                if (!lastReported.TryGetValue(p.File, out var last) || p.Received - last >= step || p.Received == p.Total)
                {
                    lastReported[p.File] = p.Received;
                    Console.WriteLine($"{p.File}: {Megabytes(p.Received)}{(p.Total is { } total ? " / " + Megabytes(total) : "")}");
                }
            });
            downloaded = await TrafficFetcher.EnsureAvailableAsync(settings.Dir, baseUrl, md5, client, progress, cancellationToken);
        }
        else
        {
            downloaded = await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                .StartAsync(async progressContext =>
                {
                    var tasks = new Dictionary<string, ProgressTask>();
                    var progress = new SynchronousProgress<DownloadProgress>(p =>
                    {
                        if (!tasks.TryGetValue(p.File, out var task))
                        {
                            task = tasks[p.File] = progressContext.AddTask(Markup.Escape(p.File), maxValue: Math.Max(1, p.Total ?? 1));
                        }
                        task.MaxValue = Math.Max(1, p.Total ?? p.Received);
                        task.Value = p.Received;
                    });
                    return await TrafficFetcher.EnsureAvailableAsync(settings.Dir, baseUrl, md5, client, progress, cancellationToken);
                });
        }
        AnsiConsole.MarkupLine(downloaded
            ? $"fetched the Swedish traffic signs into [blue]{Markup.Escape(settings.Dir)}[/]"
            : $"[blue]{Markup.Escape(settings.Dir)}[/] already holds the Swedish traffic signs (Set1, Set2){(md5.Count > 0 ? ", checksums match" : "")}");
        if (settings.Stats)
        {
            WriteStats(settings.Dir, settings.Seed);
        }
        return 0;
    }

    private static void WriteStats(string directory, int seed)
    {
        var table = new Table().AddColumn("split").AddColumn("set");
        foreach (var name in TrafficSigns.Classes)
        {
            table.AddColumn(new TableColumn(name).RightAligned());
        }
        table.AddColumn(new TableColumn("kept").RightAligned()).AddColumn(new TableColumn("annotated").RightAligned());
        foreach (var train in new[] { true, false })
        {
            var set = TrafficSigns.SetFor(seed, train);
            var entries = StsAnnotations.Read(Path.Combine(directory, set, "annotations.txt"));
            var kept = TrafficSigns.Filter(entries);
            var counts = TrafficSigns.Classes.Select((_, label) => kept.Count(item => item.Label == label).ToString(CultureInfo.InvariantCulture));
            table.AddRow([train ? "train" : "test", set, .. counts, kept.Count.ToString(CultureInfo.InvariantCulture), entries.Count.ToString(CultureInfo.InvariantCulture)]);
        }
        AnsiConsole.Write(table);
    }

    private static string Megabytes(long bytes) => (bytes / (1024.0 * 1024)).ToString("F1", CultureInfo.InvariantCulture) + " MB";
}
