using System.Diagnostics;
using System.Globalization;
using Ips.Configuration;
using Ips.Data;
using Ips.Data.MegapixelMnist;
using Ips.Data.Mnist;
using Ips.IO;
using Ips.Modeling;
using Ips.Patches;
using Ips.Selection;
using Ips.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Bench;

/// <summary>
/// Parts 2 and 3 on the official Megapixel MNIST config: one tracked training epoch over a few generated batches
/// (the trainer's own efficiency tracking splits the iteration), then one batch selected with and without
/// identical-patch reuse, and the encoder's FLOPs per patch and the machine's matmul peak.
/// </summary>
internal sealed class TimeBench(BenchOptions options, TextWriter log)
{
    private const int Batches = 4;
    private const int QuickBatches = 3;

    /// <summary>Overrides that shrink the official config for <c>--quick</c>: 500x500 canvases, B 2.</summary>
    private static readonly string[] QuickOverrides = ["B=2", "B_seq=2", "N=100", "M=10", "I=10", "n_worker=2"];

    public (TimePart Time, EfficiencyPart? Efficiency) Run(Device device, bool withEfficiency)
    {
        var configPath = FindConfig();
        var overrides = new List<string> { "n_epoch=1", "n_epoch_warmup=1", "track_efficiency=True", "track_epoch=0" };
        if (options.Quick)
        {
            overrides.AddRange(QuickOverrides);
        }
        overrides.AddRange(options.ConfigOverrides);
        var directory = Directory.CreateTempSubdirectory("ips-bench-mpm-");
        try
        {
            var probe = ConfigLoader.Load(configPath, overrides);
            var side = MegapixelMnistOptions.CanvasSideFor(probe);
            var batches = options.Quick ? QuickBatches : Batches;
            var digits = WriteData(directory.FullName, probe.B * batches, side, log);
            var config = ConfigLoader.Load(configPath, [.. overrides, "data_dir=" + directory.FullName]);
            var dataset = new MegapixelMnistDataset(directory.FullName, train: true, config);

            log.WriteLine($"time: training {batches} iterations of B {config.B} on {side}x{side} canvases ({digits} digits)");
            using var trainer = new Trainer(config, device);
            trainer.TrainEpoch(dataset);
            var efficiency = trainer.Efficiency ?? throw new InvalidOperationException("the trainer produced no efficiency report.");

            log.WriteLine("time: selection of one batch with and without identical-patch reuse");
            var comparison = CompareReuse(trainer, dataset, config, device);
            log.WriteLine("time: selection with the encoder in float32 and in bfloat16");
            var precision = new List<SelectionDtypeRow>
            {
                CompareDtypes(dataset, config, side, trainer, device),
                CompareFeatureDtypes(configPath, device),
            };
            var outside = Math.Max(0, efficiency.MeanIterationMs - efficiency.MeanSelectionMs - efficiency.MeanForwardBackwardMs - efficiency.MeanOptimizerMs);
            var setup = string.Create(CultureInfo.InvariantCulture,
                $"configs/mnist.yml, {side}x{side} canvases, {digits} digits, n_worker {config.NWorker} ({trainer.Workers.Chosen} loader thread{(trainer.Workers.Chosen == 1 ? "" : "s")}), {(config.Eager ? "eager" : "lazy")}{(options.ConfigOverrides.Count > 0 ? ", --set " + string.Join(" ", options.ConfigOverrides) : "")}");
            var time = new TimePart
            {
                Setup = setup,
                B = config.B,
                N = config.N ?? 0,
                M = config.M,
                I = config.I,
                Iterations = efficiency.Iterations,
                IterationMs = efficiency.MeanIterationMs,
                DataMs = efficiency.MeanDataWaitMs,
                SelectionMs = efficiency.MeanSelectionMs,
                ForwardBackwardMs = efficiency.MeanForwardBackwardMs,
                OptimizerMs = efficiency.MeanOptimizerMs,
                OutsideMs = outside,
                ImagesPerSecond = efficiency.ImagesPerSecond,
                SelectionReuseMs = comparison.ReuseMs,
                SelectionNoReuseMs = comparison.NoReuseMs,
                SelectionsIdentical = comparison.Identical,
                DistinctPatchShare = comparison.DistinctShare,
                SelectionDtype = precision,
            };
            if (!withEfficiency)
            {
                return (time, null);
            }

            log.WriteLine("efficiency: encoder FLOPs and the matmul peak");
            var flops = EncoderFlops.PerPatch(trainer.Net.Encoder, [config.NChanIn, config.PatchSize![0], config.PatchSize[1]]);
            var matmulSize = options.Quick ? 1024 : 2048;
            var peak = MatmulPeak.Gflops(matmulSize, options.Quick ? 3 : 10, device);
            var selectionFlops = (double)config.B * time.N * flops;
            return (time, new EfficiencyPart
            {
                EncoderMflopPerPatch = flops / 1e6,
                SelectionGflops = selectionFlops / (comparison.NoReuseMs * 1e6),
                SelectionReuseEffectiveGflops = selectionFlops / (comparison.ReuseMs * 1e6),
                // Backward costs about twice the forward (gradients of inputs and of weights).
                TrainingGflops = 3.0 * config.B * config.M * flops / (efficiency.MeanForwardBackwardMs * 1e6),
                MatmulPeakGflops = peak,
                MatmulSize = matmulSize,
                OutsideShare = efficiency.MeanIterationMs > 0 ? outside / efficiency.MeanIterationMs : 0,
            });
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>The first batch of the data set, selected by the trained network with reuse and without, same seed.</summary>
    private static (double ReuseMs, double NoReuseMs, bool Identical, double DistinctShare) CompareReuse(
        Trainer trainer, IIpsDataset dataset, IpsConfig config, Device device)
    {
        var samples = Enumerable.Range(0, config.B).Select(i => dataset.Load(i, train: true)).ToList();
        try
        {
            var sources = samples.Select(sample => sample.Patches).ToList();
            var selector = new IterativePatchSelector(trainer.Net);
            (double Ms, long[] Indices) Select(bool reuse)
            {
                selector.ReuseIdenticalPatches = reuse;
                using var generator = new Generator(1234);
                var clock = Stopwatch.StartNew();
                using var selection = selector.Select(sources, device, generator);
                using var indices = selection.Indices.cpu();
                var ms = clock.Elapsed.TotalMilliseconds;
                return (ms, indices.data<long>().ToArray());
            }
            var withReuse = Select(reuse: true);
            var withoutReuse = Select(reuse: false);
            return (withReuse.Ms, withoutReuse.Ms, withReuse.Indices.SequenceEqual(withoutReuse.Indices), DistinctShare(sources));
        }
        finally
        {
            foreach (var sample in samples)
            {
                sample.Dispose();
            }
        }
    }

    /// <summary>The first batch of the data set, selected by the trained network with the encoder in float32 and in bfloat16.</summary>
    private static SelectionDtypeRow CompareDtypes(IIpsDataset dataset, IpsConfig config, int side, Trainer trainer, Device device)
    {
        var samples = Enumerable.Range(0, config.B).Select(i => dataset.Load(i, train: true)).ToList();
        try
        {
            var name = string.Create(CultureInfo.InvariantCulture,
                $"Megapixel MNIST {side}x{side}, N {config.N}, M {config.M}, I {config.I}, network after the timed iterations");
            return SelectionDtypeBench.Compare(name, trainer.Net, samples.Select(sample => sample.Patches).ToList(), device);
        }
        finally
        {
            foreach (var sample in samples)
            {
                sample.Dispose();
            }
        }
    }

    /// <summary>
    /// configs/camelyon.yml's feature projector, freshly initialised (seed 0), on a few slides of random non-negative
    /// 2048-feature rows: the feature path, where the encoder is one large matrix product.
    /// </summary>
    private SelectionDtypeRow CompareFeatureDtypes(string mnistConfigPath, Device device)
    {
        var (slides, n, overrides) = options.Quick ? (2, 2000, new[] { "N=2000", "M=500", "I=500" }) : (4, 20_000, ["N=20000"]);
        var config = ConfigLoader.Load(Path.Combine(Path.GetDirectoryName(mnistConfigPath)!, "camelyon.yml"), overrides);
        torch.manual_seed(0);
        using var net = new IpsNet(config);
        net.to(device);
        var generator = new Generator(7);
        var features = Enumerable.Range(0, slides).Select(_ => randn([n, config.NChanIn], generator: generator).relu_()).ToList(); // [N, 2048] each
        try
        {
            var name = string.Create(CultureInfo.InvariantCulture,
                $"CAMELYON16 features, {slides} slides of N {n}, M {config.M}, I {config.I}, initialised network");
            return SelectionDtypeBench.Compare(name, net, features.Select(f => (IPatchSource)TensorPatchSource.FromPatches(f)).ToList(), device);
        }
        finally
        {
            foreach (var tensor in features)
            {
                tensor.Dispose();
            }
        }
    }

    /// <summary>Distinct patches over all patches of the batch: the least share of encoder work reuse can leave.</summary>
    private static double DistinctShare(IReadOnlyList<IPatchSource> sources)
    {
        using var scope = NewDisposeScope();
        var all = cat(sources.Select(source => source.Read(0, source.Count).flatten(1)).ToArray(), 0); // [B*N, C*ph*pw]
        var (distinct, _, _) = unique(all, sorted: true, dim: 0);
        return (double)distinct.shape[0] / all.shape[0];
    }

    /// <summary>Generates the training images (and one test image) with real MNIST digits, or synthetic ones when MNIST cannot be fetched.</summary>
    internal static string WriteData(string directory, int count, int side, TextWriter log)
    {
        MnistSplit train;
        MnistSplit test;
        string digits;
        try
        {
            var mnist = MnistFetcher.EnsureAvailable(MnistFetcher.DefaultCacheDir(), null);
            train = IdxReader.Load(mnist, train: true);
            test = IdxReader.Load(mnist, train: false);
            digits = "MNIST";
        }
        catch (Exception error) when (error is InvalidOperationException or IOException or InvalidDataException)
        {
            log.WriteLine($"time: MNIST unavailable ({error.Message}); using synthetic digits");
            (train, test) = (SyntheticDigits(1000, 1), SyntheticDigits(100, 2));
            digits = "synthetic";
        }
        MegapixelMnistGenerator.WriteDataset(directory, train, test,
            new MegapixelMnistOptions { NTrain = count, NTest = 1, Width = side, Height = side, Seed = 0 });
        return digits;
    }

    /// <summary>Random sparse 28x28 strokes with labels 0..9 in turn: same sparsity as MNIST, no meaning.</summary>
    private static MnistSplit SyntheticDigits(int count, int seed)
    {
        var random = new Random(seed);
        var images = new byte[count * MnistSplit.Pixels];
        for (var i = 0; i < images.Length; i++)
        {
            images[i] = random.NextDouble() < 0.2 ? (byte)random.Next(128, 256) : (byte)0;
        }
        var labels = Enumerable.Range(0, count).Select(i => (byte)(i % 10)).ToArray();
        return new MnistSplit(images, labels, "synthetic");
    }

    /// <summary>The repository's configs/mnist.yml (<see cref="ShippedFiles.Find"/>).</summary>
    internal static string FindConfig() => ShippedFiles.Find(Path.Combine("configs", "mnist.yml"));
}
