using Ips.Configuration;
using Ips.Training;

namespace Ips.Tests.Training;

public sealed class RunLogTests : IDisposable
{
    private static readonly TaskConfig[] Tasks =
    [
        new() { Key = "task0", Id = 0, Name = "majority", ActFn = "softmax", Metric = "accuracy", NClass = 10 },
        new() { Key = "task1", Id = 1, Name = "tumour", ActFn = "sigmoid", Metric = "auc", NClass = 1 },
    ];

    private readonly string _dir = Directory.CreateTempSubdirectory("ips-runlog-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static EpochRecord Epoch(int epoch, double lr, bool withTest = true) => new(
        epoch, lr,
        new Dictionary<string, TaskScores> { ["majority"] = new(2.5 / epoch, 0.1 * epoch), ["tumour"] = new(0.7, 0.5 + 0.1 * epoch) },
        withTest ? new Dictionary<string, TaskScores> { ["majority"] = new(3.0 / epoch, 0.08 * epoch), ["tumour"] = new(0.8, double.NaN) } : null);

    [Fact]
    public void Csv_has_one_header_and_one_invariant_row_per_epoch()
    {
        var saved = System.Globalization.CultureInfo.CurrentCulture;
        System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE"); // decimal comma
        var log = new RunLog(_dir, Tasks, tensorBoard: false);
        try
        {
            log.Add(Epoch(1, 0.0005));
            log.Add(Epoch(2, 0.001, withTest: false));
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = saved;
        }
        var lines = File.ReadAllLines(log.CsvPath);
        Assert.Equal(
            ["epoch,lr,train_majority_loss,train_majority_accuracy,train_tumour_loss,train_tumour_auc,"
                + "test_majority_loss,test_majority_accuracy,test_tumour_loss,test_tumour_auc",
             "1,0.0005,2.5,0.1,0.7,0.6,3,0.08,0.8,NaN",
             "2,0.001,1.25,0.2,0.7,0.7,,,,"],
            lines);
    }

    [Fact]
    public void A_reopened_log_keeps_its_rows_and_does_not_repeat_the_header()
    {
        var first = new RunLog(_dir, Tasks, tensorBoard: false);
        first.Add(Epoch(1, 0.0005));
        first.Add(Epoch(2, 0.001, withTest: false));

        var resumed = new RunLog(_dir, Tasks, tensorBoard: false);
        Assert.Equal(2, resumed.Records.Count);
        Assert.Equal(new TaskScores(3, 0.08), resumed.Records[0].Test!["majority"]);
        Assert.True(double.IsNaN(resumed.Records[0].Test!["tumour"].Metric));
        Assert.Null(resumed.Records[1].Test);
        resumed.Add(Epoch(3, 0.0002));
        var lines = File.ReadAllLines(resumed.CsvPath);
        Assert.Equal(4, lines.Length);
        Assert.Single(lines, l => l.StartsWith("epoch,", StringComparison.Ordinal));

        var other = new[] { Tasks[0] };
        Assert.Throws<InvalidDataException>(() => new RunLog(_dir, other, tensorBoard: false));
    }

    [Fact]
    public void TensorBoard_events_and_a_png_plot_are_written()
    {
        var log = new RunLog(_dir, Tasks);
        log.Add(Epoch(1, 0.0005));
        log.Add(Epoch(2, 0.001));
        var events = Directory.GetFiles(log.TensorBoardDirectory);
        var file = Assert.Single(events);
        Assert.StartsWith("events.out.tfevents", Path.GetFileName(file), StringComparison.Ordinal);
        Assert.True(new FileInfo(file).Length > 100);

        var png = File.ReadAllBytes(log.PlotPath);
        Assert.True(png.Length > 1000);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp*"));
    }

    [Fact]
    public void Restore_rewrites_the_csv_and_the_tensorboard_events_to_exactly_the_rows_given()
    {
        var straight = new RunLog(Path.Combine(_dir, "straight"), Tasks);
        straight.Add(Epoch(1, 0.0005));
        straight.Add(Epoch(2, 0.001));

        // A run that logged epochs 1 to 3 and was then resumed from its checkpoint after epoch 1.
        var stopped = new RunLog(Path.Combine(_dir, "stopped"), Tasks);
        stopped.Add(Epoch(1, 0.0005));
        stopped.Add(Epoch(2, 0.0007));
        stopped.Add(Epoch(3, 0.0002));
        var resumed = new RunLog(stopped.Directory, Tasks);
        resumed.Restore([Epoch(1, 0.0005)]);
        Assert.Equal(2, File.ReadAllLines(resumed.CsvPath).Length);
        resumed.Add(Epoch(2, 0.001));

        Assert.Equal(File.ReadAllBytes(straight.CsvPath), File.ReadAllBytes(resumed.CsvPath));
        var events = Assert.Single(Directory.GetFiles(resumed.TensorBoardDirectory));
        var reference = Assert.Single(Directory.GetFiles(straight.TensorBoardDirectory));
        // The same events; only the file-version record at the start carries the creation time.
        Assert.Equal(AfterFirstRecord(reference), AfterFirstRecord(events));
        Assert.Empty(Directory.GetFiles(stopped.Directory, ".*"));
    }

    // The events after the file-version record, without their wall times (when they were written). A TFRecord is an
    // 8-byte length, a 4-byte CRC, the data, a 4-byte CRC; the data is an Event proto that starts with its wall time
    // (field 1, a double: tag 0x09 and 8 bytes).
    private static List<string> AfterFirstRecord(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var events = new List<string>();
        for (var at = 0; at < bytes.Length;)
        {
            var length = (int)BitConverter.ToInt64(bytes, at);
            var data = bytes[(at + 12)..(at + 12 + length)];
            if (data[0] == 0x09) data = data[9..];
            events.Add(Convert.ToHexString(data));
            at += 12 + length + 4;
        }
        Assert.True(events.Count > 1);
        return events[1..];
    }

    [Fact]
    public void The_console_table_has_a_row_per_task()
    {
        var text = RunLog.FormatTable(Epoch(2, 0.001, withTest: false), Tasks);
        var lines = text.TrimEnd('\n').Split('\n');
        Assert.Equal("epoch 2  lr 0.001", lines[0]);
        Assert.Equal(["task", "metric", "train", "loss", "train", "metric", "test", "loss", "test", "metric"],
            lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["majority", "accuracy", "1.2500", "0.2000", "-", "-"], lines[2].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["tumour", "auc", "0.7000", "0.7000", "-", "-"], lines[3].Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }
}
