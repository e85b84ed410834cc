using Ips.Bench;
using Ips.Features;
using Ips.Modeling;
using Ips.Tests.Data;
using static TorchSharp.torch;

namespace Ips.Tests.Bench;

public sealed class BenchHarnessTests
{
    private static BenchReport SampleReport(double reuseMs, bool identical) => new()
    {
        Date = "2026-01-01 00:00 UTC",
        Machine = new MachineInfo { Device = "cpu", Cores = 2, TorchThreads = 2, MemoryBytes = 24L << 30, Cpu = "test CPU", Libtorch = "2.10.0" },
        Memory = new MemoryPart
        {
            BudgetBytes = 4L << 30,
            MemoryKind = "VmHWM",
            FeatureSetup = "M 100",
            ImageSetup = "M 50",
            Features =
            [
                new MemoryRow { Label = "N = 1k", N = 1024, IpsPeakBytes = 200L << 20, IpsStepBytes = 20L << 20, IpsSeconds = 0.5, BaselinePeakBytes = 210L << 20, BaselineStepBytes = 30L << 20, BaselineSeconds = 0.2, BaselineStatus = "measured" },
                new MemoryRow { Label = "N = 256k", N = 262144, IpsPeakBytes = 230L << 20, IpsSeconds = 9, BaselineStatus = "exceeds budget (est. 5.0 GiB)" },
            ],
        },
        Time = new TimePart
        {
            Setup = "configs/mnist.yml", B = 16, N = 900, M = 100, I = 100, Iterations = 2, IterationMs = 1000, DataMs = 10, SelectionMs = 400,
            ForwardBackwardMs = 450, OptimizerMs = 50, OutsideMs = 100, ImagesPerSecond = 16, SelectionReuseMs = reuseMs, SelectionNoReuseMs = 1000,
            SelectionsIdentical = identical, DistinctPatchShare = 0.2,
            SelectionDtype =
            [
                new SelectionDtypeRow { Case = "features", Images = 4, M = 5000, Float32Ms = 4292.4, Bfloat16Ms = 2527.2, MeanJaccard = 0.9954, MinJaccard = 0.9939, DifferingIndices = 46, MaxProbabilityDifference = 7.84e-5 },
            ],
        },
        Efficiency = new EfficiencyPart { EncoderMflopPerPatch = 105.1, SelectionGflops = 10, SelectionReuseEffectiveGflops = 40, TrainingGflops = 12, MatmulPeakGflops = 50, MatmulSize = 2048, OutsideShare = 0.1 },
    };

    [Fact]
    public void Report_survives_a_json_round_trip()
    {
        var report = SampleReport(400, identical: true);
        var json = report.ToJson();

        var back = BenchReport.FromJson(json, "report.json");

        Assert.Equal(json, back.ToJson());
        Assert.Contains("\"ips_peak_bytes\": 241172480", json);
        Assert.Equal(262144, back.Memory!.Features[1].N);
        Assert.Null(back.Memory.Features[1].BaselinePeakBytes);
    }

    [Fact]
    public void Malformed_report_names_its_source()
    {
        var error = Assert.Throws<InvalidDataException>(() => BenchReport.FromJson("{\"quick\": 3", "old.json"));
        Assert.StartsWith("old.json: not a benchmark report", error.Message);
    }

    [Fact]
    public void Tables_judge_the_targets_from_the_figures()
    {
        var met = BenchTables.Format(SampleReport(400, identical: true));
        Assert.Contains("target: IPS peak at N = 256k within 10% of N = 1k: MISSED (ratio 1.150)", met);
        Assert.Contains("target: time outside the model's work < 10% of an iteration: MISSED (10.0 %)", met);
        Assert.Contains("target: selection with reuse >= 2x faster, identical selections: met (2.50x, identical: yes)", met);
        Assert.Contains("exceeds budget (est. 5.0 GiB)", met);

        Assert.Matches(@"\n  features +4 +4292\.4 +2527\.2 +1\.70x +0\.995 \(0\.994\) +46 of 20000 +7\.84E-05\n", met.Replace("\r\n", "\n", StringComparison.Ordinal));

        var notIdentical = BenchTables.Format(SampleReport(400, identical: false));
        Assert.Contains("selection with reuse >= 2x faster, identical selections: MISSED (2.50x, identical: no)", notIdentical);
    }

    [Fact]
    public void Table_pads_every_column_to_its_widest_cell()
    {
        var table = BenchTables.Table(["a", "long header"], [["wide cell", "x"], ["y", "z"]]);

        Assert.Equal(
            "  a          long header\n  ---------  -----------\n  wide cell  x\n  y          z\n",
            table.Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("memory", BenchParts.Memory)]
    [InlineData("time, efficiency", BenchParts.Time | BenchParts.Efficiency)]
    [InlineData("all", BenchParts.All)]
    [InlineData("slide-read,slides", BenchParts.SlideRead | BenchParts.Slides)]
    [InlineData("encoders", BenchParts.Encoders)]
    public void Parts_parse(string text, BenchParts expected) => Assert.Equal(expected, BenchOptions.ParseParts(text));

    [Fact]
    public void Slide_read_table_gives_tiles_per_second_and_why_python_is_missing()
    {
        var part = new SlideReadPart
        {
            Setup = "16384 x 16384 JPEG",
            PythonSkipped = "python3-openslide is not installed (apt-get install python3-openslide)",
            Rows = [new SlideReadRow { Reader = "tiff", Threads = 1, Tiles = 4096, Seconds = 8 }, new SlideReadRow { Reader = "openslide", Threads = 2, Tiles = 4096, Seconds = 3.2 }],
        };
        var text = SlideReadBench.Format(part).Replace("\r\n", "\n", StringComparison.Ordinal);
        Assert.Contains("openslide-python rows skipped: python3-openslide is not installed", text, StringComparison.Ordinal);
        Assert.Matches(@"\n  tiff +1 +4096 +8\.00 +512\n", text);
        Assert.Matches(@"\n  openslide +2 +4096 +3\.20 +1280\n", text);
    }

    [Fact]
    public void Unknown_part_is_named()
    {
        var error = Assert.Throws<ArgumentException>(() => BenchOptions.ParseParts("memory,speed"));
        Assert.Contains("unknown part 'speed'", error.Message);
    }

    [Fact]
    public void Probe_spec_round_trips_and_rejects_garbage()
    {
        var spec = new ProbeSpec("features", Ips: false, 4096, "/tmp/a;b.npy");
        Assert.Equal(spec, ProbeSpec.Parse(spec.ToArgument()));
        Assert.Equal(100, new ProbeSpec("image", true, 500, "").Config().N);
        Assert.Throws<ArgumentException>(() => ProbeSpec.Parse("image;ips;-3;"));
    }

    [Fact]
    public void Probe_result_is_found_among_other_output()
    {
        var result = new ProbeResult(123456789, null, 1.5);
        var output = "some log line\n" + result.ToLine() + "\nmore\n";
        Assert.Equal(result, ProbeResult.FindIn(output));
        Assert.Null(ProbeResult.FindIn("nothing here"));
    }

    [Fact]
    public void Baseline_estimate_extends_the_line_through_the_last_two_measurements()
    {
        Assert.Equal(0, MemoryBench.Extrapolate([(100, 1000)], 400));
        Assert.Equal(4000, MemoryBench.Extrapolate([(50, 9), (100, 1000), (200, 2000)], 400));
    }

    [Fact]
    public void Encoder_flops_match_the_hand_count_of_resnet18_cut_after_two_stages()
    {
        var config = new ProbeSpec("image", true, 500, "").Config();
        using var net = new IpsNet(config);

        // conv1 40000 x 49, layer1 4 x 10816 x 576, layer2 6272 x (576 + 3 x 1152) + downsample 6272 x 64 MACs.
        const double macs = 1_960_000 + 24_920_064 + 3_612_672 + 7_225_344 + 14_450_688 + 401_408;
        Assert.Equal(2 * macs, EncoderFlops.PerPatch(net.Encoder, [1, 50, 50]));
        Assert.True(net.Encoder.training);
    }

    [Fact]
    public void Child_measures_one_ips_step_on_streamed_features()
    {
        using var dir = new TempDir();
        var file = Path.Combine(dir.Path, "features.npy");
        using (var features = randn(1500, ProbeSpec.FeatureWidth))
        {
            NpyWriter.Write(file, features);
        }
        using var output = new StringWriter();

        BenchRunner.RunChild(new ProbeSpec("features", true, 1500, file).ToArgument(), "cpu", null, output);

        var result = ProbeResult.FindIn(output.ToString());
        Assert.NotNull(result);
        Assert.True(result.PeakBytes > 0 && result.Seconds > 0);
    }
}
