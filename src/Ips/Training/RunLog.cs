using System.Globalization;
using System.Text;
using Ips.Configuration;
using Ips.IO;
using ScottPlot;
using TorchSharp;

namespace Ips.Training;

/// <summary>One epoch of a run: learning rate and, per task name, the training and test scores.</summary>
/// <param name="Epoch">1-based epoch number (as the official logs print it).</param>
/// <param name="Lr">Learning rate of the epoch's last step.</param>
/// <param name="Train">Training scores by task name.</param>
/// <param name="Test">Test scores by task name; null when the epoch was not evaluated.</param>
public sealed record EpochRecord(
    int Epoch, double Lr, IReadOnlyDictionary<string, TaskScores> Train, IReadOnlyDictionary<string, TaskScores>? Test);

/// <summary>
/// The record of a training run in a directory, one row per epoch: <c>metrics.csv</c> (header and rows, invariant
/// culture, replaced atomically after every epoch), TensorBoard scalars under <c>tensorboard/</c> (via TorchSharp's
/// <c>SummaryWriter</c>) and <c>curves.png</c>, loss and metric against epoch for train (solid) and test (dashed),
/// one colour per task, rewritten every epoch. An existing <c>metrics.csv</c> with the same columns is read back;
/// a resumed run replaces it with the rows its checkpoint holds (<see cref="Restore"/>), so its log equals that of
/// a run that was never stopped.
/// </summary>
public sealed class RunLog
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;
    private static readonly string[] Splits = ["train", "test"];

    private readonly IReadOnlyList<TaskConfig> _tasks;
    private readonly bool _tensorBoard;
    private readonly List<EpochRecord> _records = [];
    private TorchSharp.Modules.SummaryWriter? _writer;

    /// <summary>Opens (or starts) the run log in <paramref name="directory"/>.</summary>
    /// <param name="directory">Run directory; created when missing.</param>
    /// <param name="tasks">The config's tasks; they name the columns.</param>
    /// <param name="tensorBoard">Also write TensorBoard event files.</param>
    public RunLog(string directory, IReadOnlyList<TaskConfig> tasks, bool tensorBoard = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(tasks);
        Directory = directory;
        _tasks = tasks;
        _tensorBoard = tensorBoard;
        System.IO.Directory.CreateDirectory(directory);
        if (File.Exists(CsvPath) && new FileInfo(CsvPath).Length > 0) ReadExisting();
    }

    /// <summary>The run directory.</summary>
    public string Directory { get; }

    /// <summary>Path of the CSV table.</summary>
    public string CsvPath => Path.Combine(Directory, "metrics.csv");

    /// <summary>Path of the curve plot.</summary>
    public string PlotPath => Path.Combine(Directory, "curves.png");

    /// <summary>Directory of the TensorBoard event files.</summary>
    public string TensorBoardDirectory => Path.Combine(Directory, "tensorboard");

    /// <summary>The epochs recorded so far, including those read back from an existing CSV.</summary>
    public IReadOnlyList<EpochRecord> Records => _records;

    /// <summary>The CSV header: <c>epoch,lr</c>, then per split (train, test) and task <c>{split}_{task}_loss</c>
    /// and <c>{split}_{task}_{metric}</c>.</summary>
    public string CsvHeader => string.Join(',', Columns());

    /// <summary>Records an epoch: rewrites the CSV with its row, writes the TensorBoard scalars and redraws the plot.</summary>
    public void Add(EpochRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        _records.Add(record);
        WriteCsv();
        if (_tensorBoard) WriteTensorBoard(record);
        SavePlot();
    }

    /// <summary>
    /// Makes the log hold exactly <paramref name="records"/> (a checkpoint's completed epochs): rewrites
    /// <c>metrics.csv</c>, replaces the TensorBoard event files with one holding these rows, and redraws the plot.
    /// Rows of epochs trained after the checkpoint (the work a stop lost, to be trained again) disappear.
    /// </summary>
    public void Restore(IEnumerable<EpochRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        _records.Clear();
        _records.AddRange(records);
        if (_records.Count == 0)
        {
            if (File.Exists(CsvPath)) File.Delete(CsvPath);
            if (File.Exists(PlotPath)) File.Delete(PlotPath);
        }
        else
        {
            WriteCsv();
            SavePlot();
        }
        if (_tensorBoard)
        {
            // TensorBoard merges every event file of a directory, so scalars written after the checkpoint would
            // show as a second value for the same epoch: the old files go and one file gets the stored rows.
            _writer = null;
            if (System.IO.Directory.Exists(TensorBoardDirectory))
            {
                foreach (var events in System.IO.Directory.GetFiles(TensorBoardDirectory, "events.out.tfevents.*")) File.Delete(events);
            }
            foreach (var record in _records) WriteTensorBoard(record);
        }
    }

    private IEnumerable<string> Columns()
    {
        yield return "epoch";
        yield return "lr";
        foreach (var split in Splits)
        {
            foreach (var task in _tasks)
            {
                yield return $"{split}_{task.Name}_loss";
                yield return $"{split}_{task.Name}_{task.Metric}";
            }
        }
    }

    // The whole table is written each time (it has a row per epoch, so it stays small) and replaced atomically:
    // a stop or a full disk leaves the previous table, never a torn row.
    private void WriteCsv()
    {
        var sb = new StringBuilder();
        sb.Append(CsvHeader).Append('\n');
        foreach (var record in _records)
        {
            sb.Append(record.Epoch.ToString(Invariant)).Append(',').Append(Number(record.Lr));
            foreach (var scores in new[] { record.Train, record.Test })
            {
                foreach (var task in _tasks)
                {
                    var s = Lookup(scores, task.Name);
                    sb.Append(',').Append(s is null ? "" : Number(s.Value.Loss));
                    sb.Append(',').Append(s is null ? "" : Number(s.Value.Metric));
                }
            }
            sb.Append('\n');
        }
        AtomicFile.Write(CsvPath, temp => File.WriteAllText(temp, sb.ToString()));
    }

    private static string Number(double value) => value.ToString("R", Invariant);

    private static TaskScores? Lookup(IReadOnlyDictionary<string, TaskScores>? scores, string task) =>
        scores is not null && scores.TryGetValue(task, out var s) ? s : null;

    private void ReadExisting()
    {
        var lines = File.ReadAllLines(CsvPath);
        if (lines[0] != CsvHeader)
            throw new InvalidDataException($"{CsvPath}: its columns ({lines[0]}) differ from this run's ({CsvHeader}); "
                + "use a new run directory for a different set of tasks");
        var n = _tasks.Count;
        foreach (var (line, row) in lines.Skip(1).Select((l, i) => (l, i + 2)).Where(t => t.l.Length > 0))
        {
            var cells = line.Split(',');
            if (cells.Length != 2 + 4 * n || !int.TryParse(cells[0], NumberStyles.Integer, Invariant, out var epoch))
                throw new InvalidDataException($"{CsvPath}, line {row}: expected {2 + 4 * n} comma-separated values");
            Dictionary<string, TaskScores>? Split(int offset)
            {
                if (Enumerable.Range(offset, 2 * n).All(i => cells[i].Length == 0)) return null;
                return _tasks.Select((t, k) => (t.Name, Scores: new TaskScores(Cell(offset + 2 * k), Cell(offset + 2 * k + 1))))
                    .ToDictionary(x => x.Name, x => x.Scores);
            }
            double Cell(int i) => cells[i].Length == 0 ? double.NaN
                : double.TryParse(cells[i], NumberStyles.Float, Invariant, out var v) ? v
                : throw new InvalidDataException($"{CsvPath}, line {row}: '{cells[i]}' is not a number");
            _records.Add(new EpochRecord(epoch, Cell(1), Split(2) ?? [], Split(2 + 2 * n)));
        }
    }

    private void WriteTensorBoard(EpochRecord record)
    {
        _writer ??= torch.utils.tensorboard.SummaryWriter(TensorBoardDirectory);
        _writer.add_scalar("lr", (float)record.Lr, record.Epoch);
        foreach (var (split, scores) in new[] { ("train", record.Train), ("test", record.Test) })
        {
            foreach (var task in _tasks)
            {
                if (Lookup(scores, task.Name) is not { } s) continue;
                _writer.add_scalar($"{task.Name}/{split}_loss", (float)s.Loss, record.Epoch);
                _writer.add_scalar($"{task.Name}/{split}_{task.Metric}", (float)s.Metric, record.Epoch);
            }
        }
    }

    private void SavePlot()
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        DrawPanel(multiplot.GetPlot(0), "loss", s => s.Loss);
        DrawPanel(multiplot.GetPlot(1), "metric", s => s.Metric);
        AtomicFile.Write(PlotPath, temp => multiplot.SavePng(temp, 1400, 550));
    }

    private void DrawPanel(Plot plot, string title, Func<TaskScores, double> value)
    {
        var palette = new ScottPlot.Palettes.Category10();
        for (var k = 0; k < _tasks.Count; k++)
        {
            var task = _tasks[k];
            foreach (var (split, pattern) in new[] { ("train", LinePattern.Solid), ("test", LinePattern.Dashed) })
            {
                var points = _records
                    .Select(r => (r.Epoch, S: Lookup(split == "train" ? r.Train : r.Test, task.Name)))
                    .Where(p => p.S is { } s && double.IsFinite(value(s)))
                    .Select(p => (X: (double)p.Epoch, Y: value(p.S!.Value)))
                    .ToArray();
                if (points.Length == 0) continue;
                var line = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray());
                line.Color = palette.GetColor(k);
                line.LinePattern = pattern;
                line.LineWidth = 2;
                line.MarkerSize = points.Length == 1 ? 5 : 0;
                line.LegendText = $"{task.Name} {split}" + (title == "metric" ? $" ({task.Metric})" : "");
            }
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.Title(title);
        plot.XLabel("epoch");
        plot.ShowLegend();
    }

    /// <summary>A plain-text table of one epoch for the console: a header line, then one row per task with its
    /// metric name and train/test loss and metric (<c>-</c> where absent).</summary>
    public static string FormatTable(EpochRecord record, IReadOnlyList<TaskConfig> tasks)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(tasks);
        string[] header = ["task", "metric", "train loss", "train metric", "test loss", "test metric"];
        var rows = tasks.Select(t =>
        {
            var train = Lookup(record.Train, t.Name);
            var test = Lookup(record.Test, t.Name);
            return new[]
            {
                t.Name, t.Metric,
                Cell(train?.Loss), Cell(train?.Metric), Cell(test?.Loss), Cell(test?.Metric),
            };
        }).ToList();
        var widths = header.Select((h, c) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[c].Length))).ToArray();
        string Row(string[] cells) => string.Join("  ", cells.Select((x, c) => c < 2 ? x.PadRight(widths[c]) : x.PadLeft(widths[c]))).TrimEnd();

        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"epoch {record.Epoch}  lr {PlainDecimal(record.Lr)}\n");
        sb.Append(Row(header)).Append('\n');
        foreach (var row in rows) sb.Append(Row(row)).Append('\n');
        return sb.ToString();
    }

    private static string Cell(double? value) => value switch
    {
        null => "-",
        { } v when double.IsNaN(v) => "nan",
        { } v => v.ToString("0.0000", Invariant),
    };

    /// <summary>A learning rate as a plain decimal (0.00001, not 1E-05), to 12 significant places after the point.</summary>
    internal static string PlainDecimal(double value) => value.ToString("0.############", CultureInfo.InvariantCulture);
}
