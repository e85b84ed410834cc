using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Ips.Configuration;
using Ips.IO;
using Ips.Modeling;
using Ips.Tests.Data;
using static TorchSharp.torch;

namespace Ips.Tests.Cli;

/// <summary>
/// The inputs of the long-running commands, made once: a synthetic MNIST (in an <c>IPS_CACHE</c>, where
/// <c>ips demo</c> looks), a tiny Megapixel MNIST, a generated CAMELYON16 cohort of three 1024-pixel slides with its
/// labels, their tile coordinates, a one-epoch BYOL ResNet-18, the slides' features, and an IPS model on the
/// scaled-down camelyon config.
/// </summary>
public sealed class TerminalRunInputs : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly ConcurrentDictionary<string, Lazy<string>> _plainRuns = new(StringComparer.Ordinal);

    /// <summary>The scaled-down camelyon config of EncodedSlideFixture: ResNet-18 features (512-d), D 16, M 3, I 2.</summary>
    private static readonly string[] SlideModel =
    [
        "-c", RepositoryFiles.Path("configs/camelyon.yml"), "--set", "n_chan_in=512", "--set", "D=16", "--set", "H=2",
        "--set", "D_k=4", "--set", "D_v=4", "--set", "D_inner=32", "--set", "M=3", "--set", "I=2",
    ];

    public TerminalRunInputs()
    {
        var mnist = Path.Combine(Cache, "mnist");
        Directory.CreateDirectory(mnist);
        MnistTestData.WriteSplits(mnist, MnistTestData.Synthetic(200), MnistTestData.Synthetic(100, salt: 3), gz: false);
        Make("data", "megapixel-mnist", Megapixel, "--n-train", "16", "--n-test", "8", "--width", "200", "--height", "200", "--mnist", mnist);
        Make("data", "camelyon16", "synthetic", "--out", Cohort, "--slides", "1", "--test", "1", "--size", "1024");
        Make("data", "camelyon16", "labels", Cohort, "--out", Labels);
        Make("slides", "tile", Cohort, "--out", Coords, "--annotations", Annotations);
        Make([.. Byol(ByolDir)]);
        Make("slides", "features", Cohort, "--coords", Coords, "--encoder", Encoder, "--out", Features, "--batch-size", "8", "--device", "cpu");
        manual_seed(11);
        using var net = new IpsNet(ConfigLoader.Load(SlideModel[1], [.. SlideModel.Skip(2).Where((_, i) => i % 2 == 1)]));
        StateDictIO.Save(net, Weights);
    }

    public string Root => _dir.Path;

    /// <summary>The extra environment of every run: the cache that holds the synthetic MNIST.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string> { ["IPS_CACHE"] = Cache };

    private string Cache => Path.Combine(Root, "cache");

    private string Megapixel => Path.Combine(Root, "mpm");

    private string Cohort => Path.Combine(Root, "cohort");

    private string Annotations => Path.Combine(Cohort, "training", "lesion_annotations");

    private string Labels => Path.Combine(Root, "labels.csv");

    private string Coords => Path.Combine(Root, "coords");

    private string ByolDir => Path.Combine(Root, "byol");

    private string Encoder => Path.Combine(ByolDir, "byol.ckpt");

    private string Features => Path.Combine(Root, "features");

    private string Weights => Path.Combine(Root, "model.pt");

    /// <summary>The arguments of each command under test; every output goes under the working directory.</summary>
    public string[] Arguments(string command) => command switch
    {
        "data megapixel-mnist" => ["data", "megapixel-mnist", "out", "--n-train", "16", "--n-test", "8", "--width", "200", "--height", "200",
            "--mnist", Path.Combine(Cache, "mnist")],
        "data camelyon16 synthetic" => ["data", "camelyon16", "synthetic", "--out", "out", "--slides", "1", "--test", "1", "--size", "1024"],
        "data camelyon16 labels" => ["data", "camelyon16", "labels", Cohort, "--out", "labels.csv"],
        "train" => ["train", "-c", RepositoryFiles.Path("configs/mnist-small.yml"), "--set", $"data_dir={Megapixel}", .. TinyMnist, "--run-dir", "out"],
        "demo" => ["demo", "-c", RepositoryFiles.Path("configs/mnist-small.yml"), "--n-train", "8", "--n-test", "4", "--predict", "1",
            "--set", "data_dir=data", .. TinyMnist, "--set", "patch_size=[50,50]", "--set", "patch_stride=[50,50]", "--run-dir", "out"],
        "pretrain byol" => Byol("out"),
        "slides tile" => ["slides", "tile", Cohort, "--out", "out", "--annotations", Annotations],
        "slides features" => ["slides", "features", Cohort, "--coords", Coords, "--encoder", Encoder, "--out", "out", "--batch-size", "8", "--device", "cpu"],
        "slides pack" => ["slides", "pack", Features, "--labels", Labels, "--out", "packed.hdf5"],
        "predict" => ["predict", .. SlideModel, "-w", Weights, "--encoder", Encoder, Path.Combine(Cohort, "training", "tumor", "tumor_001.tif"),
            "-o", "prediction.json", "--attention-dir", "maps"],
        // Its smallest part: the whole of --quick takes 40 s on 2 cores, the time part 15 s.
        "bench" => ["bench", "--quick", "--parts", "time", "--device", "cpu", "--out", "bench.json"],
        _ => throw new ArgumentOutOfRangeException(nameof(command), command, "no such command under test"),
    };

    // One epoch of four 2x2 patches a canvas, four canvases a step: seconds a run.
    private static readonly string[] TinyMnist =
    [
        "--set", "N=4", "--set", "M=2", "--set", "I=2", "--set", "B=4", "--set", "B_seq=4", "--set", "n_epoch=1",
        "--set", "n_epoch_warmup=0", "--set", "n_worker=1", "--set", "patch_size=[100,100]", "--set", "patch_stride=[100,100]",
    ];

    // One slide's tiles, a few steps of four: the run is about the terminal, not the training.
    private string[] Byol(string output) =>
    [
        "pretrain", "byol", "--tiles", Path.Combine(Coords, "tumor_001.h5"), "--slides", Cohort, "--out", output,
        "--set", "backbone=resnet18", "--set", "epochs=1", "--set", "batch_size=4", "--set", "image_size=16", "--set", "blur_kernel=7",
        "--set", "projector_hidden=32", "--set", "projection_dim=16", "--set", "predictor_hidden=32", "--set", "warmup_epochs=0", "--set", "n_worker=1",
    ];

    /// <summary>The working directory of the command's plain run (output redirected), made once for all terminal runs.</summary>
    public string PlainRun(string command) => _plainRuns.GetOrAdd(command, name => new(() =>
    {
        var directory = Directory.CreateDirectory(Path.Combine(Root, "plain", name.Replace(' ', '-'))).FullName;
        using var child = CliProcess.Start(directory, ["env", .. Environment.Select(v => $"{v.Key}={v.Value}")], Arguments(name));
        Assert.True(child.WaitForExit() == 0, $"plain ips {name}:\n{child.Output}");
        return directory;
    })).Value;

    private void Make(params string[] args)
    {
        var (code, text) = CliProcess.Run(Root, args);
        Assert.True(code == 0, $"ips {string.Join(' ', args)}:\n{text}");
    }

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// Every long-running command as a user runs it in an interactive terminal (issue 24: <c>slides tile</c> failed in
/// any terminal while every test ran it redirected): under a pseudo-terminal of 40 and 200 columns, with colour (the
/// live progress path) and with <c>NO_COLOR</c>, it exits 0, prints no exception, and writes the same files as the
/// plain run (output redirected, which is plain exactly as <c>--plain</c> is; see TerminalOutputTests).
/// </summary>
[Collection(nameof(TrainProcesses))]
public sealed class TerminalRunTests(TerminalRunInputs inputs) : IClassFixture<TerminalRunInputs>
{
    private static readonly string[] Commands =
    [
        "data megapixel-mnist", "data camelyon16 synthetic", "data camelyon16 labels", "train", "demo", "pretrain byol",
        "slides tile", "slides features", "slides pack", "predict", "bench",
    ];

    /// <summary>Each command at 40 and 200 columns in colour, and without colour at one of them, taking turns.</summary>
    public static TheoryData<string, int, bool> Runs()
    {
        var runs = new TheoryData<string, int, bool>();
        for (var i = 0; i < Commands.Length; i++)
        {
            runs.Add(Commands[i], 40, false);
            runs.Add(Commands[i], 200, false);
            runs.Add(Commands[i], i % 2 == 0 ? 40 : 200, true);
        }
        return runs;
    }

    [Theory]
    [MemberData(nameof(Runs))]
    public void A_command_in_a_terminal_exits_0_without_an_exception_and_writes_what_the_plain_run_writes(string command, int columns, bool noColour)
    {
        var plain = inputs.PlainRun(command);
        var directory = Directory.CreateDirectory(Path.Combine(inputs.Root, $"terminal-{columns}{(noColour ? "-nocolour" : "")}", command.Replace(' ', '-'))).FullName;

        var (code, output) = TerminalProcess.Run(directory, columns, noColour, inputs.Environment, inputs.Arguments(command));

        Assert.True(code == 0, $"ips {command} in a terminal of {columns} columns exited {code}:\n{output}");
        Assert.DoesNotContain("Exception", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        // The path taken: colour codes (and live progress) in colour, none under NO_COLOR; the bench prints plain figures
        // either way.
        Assert.Equal(!noColour && command != "bench", output.Contains("\u001b[38;5;", StringComparison.Ordinal));
        if (command == "pretrain byol")
        {
            // Its live row's description is wider than a narrow terminal: cut, it still shows where the run is.
            Assert.Contains("epoch 1/1 step", output, StringComparison.Ordinal);
        }
        AssertSameFiles(plain, directory);
    }

    /// <summary>
    /// The same files, byte for byte, except what records when, where and by whom it was written: a run's lock (pid,
    /// host, start time) and TensorBoard event files (named by time and pid) only exist in both; the bench's figures
    /// are measurements, so its JSON holds the same keys, and the demo's summary the same results; a file that names its run's working directory (a config
    /// with its data_dir resolved) compares with that directory's path taken out; zip archives (checkpoints, whose
    /// entry headers hold the write time) hold the same entries with contents the same by these rules.
    /// </summary>
    private static void AssertSameFiles(string expectedDirectory, string actualDirectory)
    {
        static string[] Files(string directory) =>
            [.. Directory.GetFiles(directory, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(directory, f)).Order(StringComparer.Ordinal)];
        static string Comparable(string name) => name.Contains(".tfevents.", StringComparison.Ordinal) ? Path.GetDirectoryName(name) + "/tfevents" : name;

        var expected = Files(expectedDirectory);
        var actual = Files(actualDirectory);
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Select(Comparable), actual.Select(Comparable));
        foreach (var (expectedName, actualName) in expected.Zip(actual))
        {
            if (Path.GetFileName(expectedName) == "run.lock" || expectedName.Contains(".tfevents.", StringComparison.Ordinal)) continue;
            var expectedBytes = File.ReadAllBytes(Path.Combine(expectedDirectory, expectedName));
            var actualBytes = File.ReadAllBytes(Path.Combine(actualDirectory, actualName));
            if (expectedName == "bench.json")
            {
                Assert.Equal(JsonKeys(expectedBytes), JsonKeys(actualBytes));
                continue;
            }
            if (Path.GetFileName(expectedName) == Ips.Bench.DemoSummary.FileName)
            {
                // The wall time is a measurement and the pictures' path names the run's folder: the results must agree.
                var (plain, terminal) = (Ips.Bench.DemoSummary.Read(Path.Combine(expectedDirectory, Path.GetDirectoryName(expectedName)!)),
                    Ips.Bench.DemoSummary.Read(Path.Combine(actualDirectory, Path.GetDirectoryName(actualName)!)));
                Assert.Equal(plain.Seed, terminal.Seed);
                Assert.Equal(plain.TestMetrics, terminal.TestMetrics);
                continue;
            }
            Assert.True(SameContent(expectedBytes, actualBytes, expectedDirectory, actualDirectory), $"{actualName} differs from the plain run's");
        }
    }

    private static bool SameContent(byte[] expected, byte[] actual, string expectedDirectory, string actualDirectory)
    {
        if (expected.AsSpan().SequenceEqual(actual)) return true;
        if (IsZip(expected) && IsZip(actual))
        {
            using var expectedZip = new ZipArchive(new MemoryStream(expected), ZipArchiveMode.Read);
            using var actualZip = new ZipArchive(new MemoryStream(actual), ZipArchiveMode.Read);
            return expectedZip.Entries.Select(e => e.FullName).SequenceEqual(actualZip.Entries.Select(e => e.FullName))
                && expectedZip.Entries.Zip(actualZip.Entries).All(pair => SameContent(Read(pair.First), Read(pair.Second), expectedDirectory, actualDirectory));
        }
        // Latin-1 maps every byte to one character and back, so binary files compare exactly too.
        return Encoding.Latin1.GetString(expected).Replace(expectedDirectory, "WORKDIR", StringComparison.Ordinal)
            == Encoding.Latin1.GetString(actual).Replace(actualDirectory, "WORKDIR", StringComparison.Ordinal);
    }

    private static string[] JsonKeys(byte[] json)
    {
        static IEnumerable<string> Keys(JsonElement element, string path) => element.ValueKind switch
        {
            JsonValueKind.Object => element.EnumerateObject().SelectMany(p => Keys(p.Value, path + "/" + p.Name)).Prepend(path),
            JsonValueKind.Array => element.EnumerateArray().SelectMany((e, i) => Keys(e, path + "/" + i.ToString(CultureInfo.InvariantCulture))).Prepend(path),
            _ => [path],
        };
        using var document = JsonDocument.Parse(json);
        return [.. Keys(document.RootElement, "")];
    }

    private static bool IsZip(byte[] bytes) => bytes.Length > 4 && bytes[0] == 'P' && bytes[1] == 'K' && bytes[2] == 3 && bytes[3] == 4;

    private static byte[] Read(ZipArchiveEntry entry)
    {
        using var stream = entry.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
