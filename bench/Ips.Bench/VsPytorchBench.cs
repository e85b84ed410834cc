using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Ips.Configuration;
using Ips.Data;
using Ips.Data.MegapixelMnist;
using Ips.Features;
using Ips.Native;
using Ips.Patches;
using Ips.Training;
using static TorchSharp.torch;

namespace Ips.Bench;

/// <summary>
/// Part 4: training iterations of this implementation and of the official PyTorch one, on the same machine, the same
/// data (one .npy both read), the same threads and the same allocator settings. Each side runs in its own process so
/// that its peak resident memory is its own: ours is <c>ips bench --child vs:SPEC</c>, the official one is
/// bench/official_iteration.py under Debian's python3 importing the unchanged modules of the <c>--official</c> checkout.
/// </summary>
internal sealed class VsPytorchBench(BenchOptions options, TextWriter log)
{
    /// <summary>Marker of our child's result line.</summary>
    public const string OursMarker = "IPS_OURS ";

    /// <summary>Marker of the official script's result line.</summary>
    public const string OfficialMarker = "IPS_OFFICIAL ";

    private const string Python = "/usr/bin/python3";
    private const string Script = "bench/official_iteration.py";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public VsPytorchPart Run(int threads)
    {
        var root = RepositoryRoot();
        var official = Path.GetFullPath(options.Official ?? Path.Combine(root, "..", "shared", "reference", "official-ips"));
        var missing = MissingOfficial(official);
        if (missing is not null)
        {
            log.WriteLine($"vs-pytorch: official column skipped: {missing}");
        }
        var directory = Directory.CreateTempSubdirectory("ips-bench-vs-");
        try
        {
            var rows = new List<VsPytorchRow>();
            foreach (var spec in Cases(root, directory.FullName, threads))
            {
                log.WriteLine($"vs-pytorch: {spec.Name}: {spec.Setup}");
                var ours = RunSide(spec, official: null);
                SideFigures? theirs = null;
                string? failure = null;
                if (missing is null)
                {
                    try
                    {
                        theirs = RunSide(spec, official);
                    }
                    catch (InvalidOperationException error)
                    {
                        // The official column of this case only: a checkout of another version may not run here.
                        failure = error.Message;
                        log.WriteLine("vs-pytorch: " + failure);
                    }
                }
                var row = new VsPytorchRow { Case = spec.Name, Setup = spec.Setup, Ours = ours, Official = theirs, OfficialFailure = failure };
                rows.Add(row);
                // Each row as soon as both sides ran: a long run shows its figures as they come, and a stopped one keeps them.
                log.Write(BenchTables.FormatVsPytorchRow(row));
            }
            return new VsPytorchPart
            {
                OfficialDir = official,
                OfficialSkipped = missing,
                Allocator = ProcessAllocator.State.ToString(),
                OpenMpWait = OpenMpWaitPolicy.State.ToString(),
                Threads = threads,
                Rows = rows,
            };
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>The child side: trains <c>iterations</c> batches of the spec's data with the trainer and prints one result line.</summary>
    public static void RunChild(string specPath, Device device, TextWriter output, TextWriter progress)
    {
        var spec = JsonSerializer.Deserialize<CaseSpec>(File.ReadAllText(specPath), Json)
            ?? throw new ArgumentException($"--child vs:{specPath}: not a benchmark case.");
        var config = ConfigLoader.Load(spec.OursConfig, spec.OursOverrides);
        var before = ProcessMemory.CurrentResidentBytes();
        using var dataset = new NpyImages(spec, config);
        using var trainer = new Trainer(config, device) { Progress = new IterationLog(progress, spec.Iterations) };
        trainer.TrainEpoch(dataset);
        var efficiency = trainer.Efficiency ?? throw new InvalidOperationException("the trainer produced no efficiency report.");
        var figures = new SideFigures
        {
            Implementation = "ips (C#, TorchSharp, libtorch " + TorchRuntime.Describe().LibtorchVersion + ")",
            Iterations = efficiency.Iterations,
            IterationMs = efficiency.MeanIterationMs,
            SelectionMs = efficiency.MeanSelectionMs,
            ForwardBackwardMs = efficiency.MeanForwardBackwardMs,
            OptimizerMs = efficiency.MeanOptimizerMs,
            PeakBytes = ProcessMemory.PeakResidentBytes(),
            RssBeforeDataBytes = before,
            LoaderWorkers = trainer.Workers.Chosen,
        };
        output.WriteLine(OursMarker + JsonSerializer.Serialize(figures, Json));
    }

    /// <summary>Why the official side cannot run here, or null when it can.</summary>
    private static string? MissingOfficial(string official)
    {
        if (!File.Exists(Path.Combine(official, "architecture", "ips_net.py")) || !File.Exists(Path.Combine(official, "training", "iterative.py")))
        {
            return $"no checkout of github.com/benbergner/ips at {official} (give one with --official DIR)";
        }
        if (!File.Exists(Python))
        {
            return $"{Python} not found (apt-get install python3-torch python3-torchvision python3-sklearn python3-yaml)";
        }
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "-c", "import torch, torchvision, sklearn, yaml, numpy" })
        {
            start.ArgumentList.Add(argument);
        }
        using var probe = Process.Start(start) ?? throw new InvalidOperationException($"could not start {Python}.");
        var errors = probe.StandardError.ReadToEndAsync();
        probe.StandardOutput.ReadToEnd();
        probe.WaitForExit();
        return probe.ExitCode == 0
            ? null
            : $"{Python} cannot import the official code's dependencies ({errors.Result.Trim().Split('\n')[^1]}); " +
              "apt-get install python3-torch python3-torchvision python3-sklearn python3-yaml";
    }

    /// <summary>The official Megapixel MNIST config and the CAMELYON16 feature config at each N asked for.</summary>
    private IEnumerable<CaseSpec> Cases(string root, string directory, int threads)
    {
        var quick = options.Quick;
        var mnistOverrides = quick
            ? new Dictionary<string, object> { ["B"] = 2, ["B_seq"] = 2, ["N"] = 100, ["M"] = 10, ["I"] = 10 }
            : new Dictionary<string, object>();
        var cases = options.VsPytorchCases;
        if (cases.HasFlag(VsCases.Mnist))
        {
            yield return MnistCase(root, directory, threads, mnistOverrides, quick ? 3 : 4);
        }
        if (!cases.HasFlag(VsCases.Camelyon))
        {
            yield break;
        }
        foreach (var n in quick ? [2000] : options.CamelyonRows)
        {
            var overrides = quick
                ? new Dictionary<string, object> { ["N"] = n, ["B"] = 2, ["M"] = 500, ["I"] = 500 }
                : new Dictionary<string, object> { ["N"] = n };
            yield return CamelyonCase(root, directory, threads, overrides, 3);
        }
    }

    private CaseSpec MnistCase(string root, string directory, int threads, Dictionary<string, object> overrides, int iterations)
    {
        var configPath = Path.Combine(root, "configs", "mnist.yml");
        var probe = ConfigLoader.Load(configPath, Overrides(overrides));
        var side = (int)Math.Round(Math.Sqrt(probe.N ?? 0)) * probe.PatchSize![0];
        var data = Path.Combine(directory, "mnist");
        Directory.CreateDirectory(data);
        var digits = TimeBench.WriteData(data, probe.B, side, log);
        var dataset = new MegapixelMnistDataset(data, train: true, probe);
        var labels = new List<Dictionary<string, object>>();
        using (var scope = NewDisposeScope())
        {
            var patches = new List<Tensor>();
            for (var i = 0; i < probe.B; i++)
            {
                using var sample = dataset.Load(i, train: true);
                patches.Add(sample.Patches.Read(0, sample.Patches.Count).flatten(1)); // [N, C*ph*pw]
                labels.Add(sample.Labels.ToDictionary(
                    pair => pair.Key,
                    pair => pair.Value.dim() == 0 ? pair.Value.item<long>() : (object)pair.Value.data<float>().ToArray()));
            }
            NpyWriter.Write(Path.Combine(directory, "mnist.npy"), cat(patches, 0)); // [B*N, C*ph*pw], the patches in the order the official unfold yields
        }
        var setup = Invariant($"configs/mnist.yml = official mnist_config.yml, B {probe.B}, N {probe.N}, M {probe.M}, I {probe.I}, {side}x{side} canvases ({digits} digits)");
        return Write(directory, new CaseSpec
        {
            Name = "Megapixel MNIST",
            Setup = setup,
            Config = "mnist_config.yml",
            Overrides = WithSchedule(overrides),
            OursConfig = configPath,
            OursOverrides = Overrides(WithSchedule(overrides)),
            Data = Path.Combine(directory, "mnist.npy"),
            Distinct = probe.B,
            ItemShape = [probe.NChanIn, probe.PatchSize[0], probe.PatchSize[1]],
            Labels = labels,
            Iterations = iterations,
            Threads = threads,
        });
    }

    private CaseSpec CamelyonCase(string root, string directory, int threads, Dictionary<string, object> overrides, int iterations)
    {
        var configPath = Path.Combine(root, "configs", "camelyon.yml");
        var probe = ConfigLoader.Load(configPath, Overrides(overrides));
        var n = probe.N ?? 0;
        var file = Path.Combine(directory, Invariant($"camelyon-{n}.npy"));
        using (var scope = NewDisposeScope())
        {
            // One slide's features, repeated B times per iteration: every slide is the same work, and 16 distinct
            // slides of 200k rows would need 26 GB.
            var generator = new Generator((ulong)n);
            NpyWriter.Write(file, randn([n, probe.NChanIn], generator: generator).relu_());
        }
        var setup = Invariant($"configs/camelyon.yml = official camelyon_config.yml, B {probe.B}, B_seq {probe.BSeq}, N {n} rows of {probe.NChanIn} features, M {probe.M}, I {probe.I}");
        return Write(directory, new CaseSpec
        {
            Name = Invariant($"CAMELYON16 features, N {n}"),
            Setup = setup,
            Config = "camelyon_config.yml",
            Overrides = WithSchedule(overrides),
            OursConfig = configPath,
            OursOverrides = Overrides(WithSchedule(overrides)),
            Data = file,
            Distinct = 1,
            ItemShape = [probe.NChanIn],
            Labels = [new Dictionary<string, object> { [probe.Tasks[0].Name] = 1L }],
            Iterations = iterations,
            Threads = threads,
        });
    }

    /// <summary>One epoch with warm-up, efficiency tracked: the settings both sides train under.</summary>
    private static Dictionary<string, object> WithSchedule(Dictionary<string, object> overrides) =>
        // Two epochs, not one: the official cosine schedule divides by the steps after warm-up.
        new(overrides) { ["n_epoch"] = 2, ["n_epoch_warmup"] = 1, ["track_efficiency"] = true, ["track_epoch"] = 0 };

    private static List<string> Overrides(Dictionary<string, object> overrides) =>
        [.. overrides.Select(pair => Invariant($"{pair.Key}={(pair.Value is bool flag ? (flag ? "True" : "False") : pair.Value)}"))];

    private static CaseSpec Write(string directory, CaseSpec spec)
    {
        var path = Path.Combine(directory, spec.Config + ".spec.json");
        File.WriteAllText(path, JsonSerializer.Serialize(spec, Json));
        return spec with { SpecPath = path };
    }

    /// <summary>
    /// Runs one side in its own process, its progress lines passed on to the log as they come; the official one with
    /// the allocator settings and threads this process has.
    /// </summary>
    private SideFigures RunSide(CaseSpec spec, string? official)
    {
        var side = official is null ? "ours" : "official";
        ProcessStartInfo start;
        if (official is null)
        {
            start = options.Child.StartInfo("vs:" + spec.SpecPath, options.Device, spec.Threads);
        }
        else
        {
            start = new ProcessStartInfo(Python);
            foreach (var argument in new[] { Path.Combine(RepositoryRoot(), Script), "--official", official, "--spec", spec.SpecPath })
            {
                start.ArgumentList.Add(argument);
            }
            foreach (var (name, value) in ProcessAllocator.EquivalentEnvironment().Concat(OpenMpWaitPolicy.EquivalentEnvironment()))
            {
                start.Environment[name] = value;
            }
            var threads = spec.Threads.ToString(CultureInfo.InvariantCulture);
            start.Environment["OMP_NUM_THREADS"] = threads;
            // Debian's PyTorch does its matrix products in whichever libblas.so.3 the system provides; OpenBLAS would
            // otherwise start one thread per core whatever the intra-op setting.
            start.Environment["OPENBLAS_NUM_THREADS"] = threads;
        }
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        log.WriteLine($"vs-pytorch: {spec.Name}: {side}: running...");
        var clock = Stopwatch.StartNew();
        var tail = new Queue<string>();
        using var child = new Process { StartInfo = start };
        child.ErrorDataReceived += (_, line) =>
        {
            if (line.Data is not { } text)
            {
                return;
            }
            lock (tail)
            {
                tail.Enqueue(text.Trim());
                if (tail.Count > 4)
                {
                    tail.Dequeue();
                }
                log.WriteLine("  " + text.TrimEnd());
            }
        };
        if (!child.Start())
        {
            throw new InvalidOperationException($"could not start {start.FileName}.");
        }
        child.BeginErrorReadLine();
        var output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        var marker = official is null ? OursMarker : OfficialMarker;
        var line = output.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith(marker, StringComparison.Ordinal));
        if (child.ExitCode != 0 || line is null)
        {
            string lines;
            lock (tail)
            {
                lines = string.Join(" | ", tail);
            }
            throw new InvalidOperationException($"{spec.Name} ({side}) failed with exit code {child.ExitCode}: {lines}");
        }
        var figures = JsonSerializer.Deserialize<SideFigures>(line[marker.Length..], Json)
            ?? throw new InvalidOperationException($"vs-pytorch {spec.Name}: empty result line.");
        log.WriteLine(Invariant($"vs-pytorch: {spec.Name}: {side}: done in {clock.Elapsed.TotalSeconds:F0} s (iteration {figures.IterationMs / 1000:F1} s)"));
        if (figures.Blas is { } blas && IsReferenceBlas(blas))
        {
            log.WriteLine($"vs-pytorch: warning: the official side ran on the reference BLAS ({blas}), whose matrix products are " +
                "tens of times slower than an optimised BLAS: apt-get install libopenblas0-pthread");
        }
        return official is null ? figures : figures with { Implementation = "official (Python, PyTorch " + figures.Torch + ")" };
    }

    /// <summary>Whether <paramref name="blas"/> (a library path) is Netlib's unoptimised reference BLAS (Debian's libblas3).</summary>
    internal static bool IsReferenceBlas(string blas) => blas.Contains("/blas/libblas", StringComparison.Ordinal);

    /// <summary>Our child's progress: one line per training iteration with its wall time.</summary>
    private sealed class IterationLog(TextWriter progress, int iterations) : IProgress<PassProgress>
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private int _done;

        public void Report(PassProgress value)
        {
            // The trainer reports after each optimiser step; its counts are data-loader iterations (B / B_seq per step).
            _done++;
            progress.WriteLine(Invariant($"ours: iteration {_done}/{iterations} {_clock.Elapsed.TotalSeconds:F1} s"));
            progress.Flush();
            _clock.Restart();
        }
    }

    /// <summary>The repository: the folder above the working directory or the harness holding configs/mnist.yml.</summary>
    private static string RepositoryRoot() => Path.GetDirectoryName(Path.GetDirectoryName(TimeBench.FindConfig()))!;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>What both sides read: the official config name and overrides, ours, the data and its labels.</summary>
    internal sealed record CaseSpec
    {
        public string Name { get; init; } = "";
        public string Setup { get; init; } = "";
        public string Config { get; init; } = "";
        public Dictionary<string, object> Overrides { get; init; } = [];
        public string OursConfig { get; init; } = "";
        public List<string> OursOverrides { get; init; } = [];
        public string Data { get; init; } = "";
        public int Distinct { get; init; }
        public long[] ItemShape { get; init; } = [];
        public List<Dictionary<string, object>> Labels { get; init; } = [];
        public int Iterations { get; init; }
        public int Threads { get; init; }
        public string SpecPath { get; init; } = "";
    }

    /// <summary>
    /// The spec's .npy as a dataset of <c>iterations x B</c> examples cycling over its distinct images, each a view of
    /// the one tensor read at start (so loading costs nothing on either side).
    /// </summary>
    private sealed class NpyImages : IIpsDataset, IDisposable
    {
        private readonly Tensor _images; // [distinct, N, *item]
        private readonly CaseSpec _spec;
        private readonly IReadOnlyList<TaskConfig> _tasks;

        public NpyImages(CaseSpec spec, IpsConfig config)
        {
            _spec = spec;
            _tasks = config.Tasks;
            using var source = NpyFeatureSource.Open(spec.Data);
            using var rows = source.Read(0, source.Count); // [distinct*N, prod(item)]
            _images = rows.reshape([spec.Distinct, config.N ?? 0, .. spec.ItemShape]);
            Count = spec.Iterations * config.B;
        }

        public int Count { get; }

        public IpsSample Load(int index, bool train)
        {
            var image = index % _spec.Distinct;
            var labels = new Dictionary<string, Tensor>();
            foreach (var task in _tasks)
            {
                var value = (JsonElement)_spec.Labels[image][task.Name];
                labels[task.Name] = value.ValueKind == JsonValueKind.Array
                    ? tensor(value.EnumerateArray().Select(v => v.GetSingle()).ToArray())
                    : task.ActFn == "softmax" ? tensor(value.GetInt64()) : tensor(new[] { (float)value.GetInt64() });
            }
            return new IpsSample(Invariant($"{image}"), TensorPatchSource.FromPatches(_images[image]), labels);
        }

        public void Dispose() => _images.Dispose();
    }
}
