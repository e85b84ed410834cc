using Ips.Bench;
using Ips.Cli.Commands;

namespace Ips.Tests.Bench;

public sealed class VsPytorchTableTests
{
    private static SideFigures Side(string name, double iteration, double forwardBackward, long peakMib) => new()
    {
        Implementation = name, Iterations = 2, IterationMs = iteration, SelectionMs = iteration - forwardBackward - 10,
        ForwardBackwardMs = forwardBackward, OptimizerMs = 10, PeakBytes = peakMib << 20, RssBeforeDataBytes = 300L << 20,
    };

    private static BenchReport Report(params VsPytorchRow[] rows) => new()
    {
        Date = "2026-01-01 00:00 UTC",
        Machine = new MachineInfo { Device = "cpu", Cores = 2, TorchThreads = 2, Cpu = "test CPU", Libtorch = "2.10.0" },
        VsPytorch = new VsPytorchPart { OfficialDir = "/ref", Allocator = "glibc malloc: kept", Threads = 2, Rows = [.. rows] },
    };

    [Fact]
    public void Targets_are_judged_from_both_columns()
    {
        var text = BenchTables.Format(Report(
            new VsPytorchRow { Case = "Megapixel MNIST", Setup = "B 16", Ours = Side("ours", 4000, 3000, 900), Official = Side("official", 10000, 3200, 1000) },
            new VsPytorchRow { Case = "CAMELYON16 features, N 20000", Setup = "M 5000", Ours = Side("ours", 5000, 2000, 1200), Official = Side("official", 4000, 1500, 1100) }));

        Assert.Contains("target: iteration >= 2x faster than official at equal or lower peak: met (2.50x, peak 90% of official)", text);
        Assert.Contains("target: forward+backward within 10% of official: met (ours 94% of official)", text);
        Assert.Contains("target: iteration at least as fast as official at lower peak: MISSED (0.80x, peak 109% of official)", text);
        Assert.Contains("target: forward+backward within 10% of official: MISSED (ours 133% of official)", text);
        Assert.Contains("official / ours", text);
        Assert.Contains("2.50x", text);
    }

    [Fact]
    public void A_missing_official_side_is_said_and_only_its_column_is_empty()
    {
        var report = Report(new VsPytorchRow { Case = "Megapixel MNIST", Setup = "B 16", Ours = Side("ours", 4000, 3000, 900), OfficialFailure = "exit code 1: ImportError" });
        report = report with { VsPytorch = report.VsPytorch! with { OfficialSkipped = "/usr/bin/python3 not found" } };

        var text = BenchTables.Format(report);
        var back = BenchReport.FromJson(report.ToJson(), "vs.json");

        Assert.Contains("official column skipped: /usr/bin/python3 not found", text);
        Assert.Contains("official side failed: exit code 1: ImportError", text);
        Assert.Contains("4000.0", text);
        Assert.DoesNotContain("target:", text);
        Assert.Equal(4000, back.VsPytorch!.Rows[0].Ours.IterationMs);
        Assert.Null(back.VsPytorch.Rows[0].Official);
    }

    [Fact]
    public void A_row_formats_alone_and_names_the_official_sides_blas()
    {
        var official = Side("official", 10000, 3200, 1000) with { Blas = "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0" };
        var row = new VsPytorchRow { Case = "CAMELYON16 features, N 20000", Setup = "M 5000", Ours = Side("ours", 4000, 3000, 900), Official = official };

        var text = BenchTables.FormatVsPytorchRow(row);

        Assert.StartsWith("CAMELYON16 features, N 20000: M 5000", text, StringComparison.Ordinal);
        Assert.Contains("official BLAS: /usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0 (the unoptimised reference BLAS", text);
        Assert.Contains("target: iteration at least as fast as official at lower peak: met (2.50x", text);
        Assert.Contains(text, BenchTables.Format(Report(row)));
        var openBlas = BenchTables.FormatVsPytorchRow(row with { Official = official with { Blas = "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3" } });
        Assert.DoesNotContain("reference BLAS", openBlas);
    }

    [Theory]
    [InlineData("mnist", VsCases.Mnist)]
    [InlineData("camelyon", VsCases.Camelyon)]
    [InlineData(" camelyon , MNIST", VsCases.All)]
    [InlineData("all", VsCases.All)]
    public void Vs_cases_parse(string text, VsCases expected) => Assert.Equal(expected, BenchOptions.ParseVsCases(text));

    [Theory]
    [InlineData("traffic", "--vs-cases: unknown case 'traffic'")]
    [InlineData(",", "--vs-cases: name at least one of mnist, camelyon")]
    public void Unknown_vs_cases_are_refused(string text, string message) =>
        Assert.StartsWith(message, Assert.Throws<ArgumentException>(() => BenchOptions.ParseVsCases(text)).Message, StringComparison.Ordinal);

    [Fact]
    public void Parts_and_rows_parse()
    {
        Assert.Equal(BenchParts.VsPytorch | BenchParts.Time, BenchOptions.ParseParts("vs-pytorch,time"));
        Assert.False(BenchParts.All.HasFlag(BenchParts.VsPytorch));
        Assert.Equal([20000, 200000], BenchSettings.ParseRows("20000, 200000"));
        Assert.Null(BenchSettings.ParseRows("20k"));
        Assert.Null(BenchSettings.ParseRows("0"));
    }
}
