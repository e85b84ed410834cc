using Ips.Configuration;
using Ips.Data;
using Ips.Data.Camelyon16;
using Ips.Features;
using Ips.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ips.Tests.Data.Camelyon16;

[Collection(nameof(GlobalRandomState))]
public sealed class Camelyon16DatasetTests(ITestOutputHelper output) : IDisposable
{
    private const int Width = 32;
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>
    /// A cohort of generated slide features: N from 20 to 60 rows of Gaussian noise per slide; a tumour slide carries
    /// its signal in only 6 rows (a fixed pattern, +2 on the first half of the 32 channels and -2 on the second, added
    /// to the noise), so the label is visible only to a model that finds those rows. Writes one CLAM-layout file per
    /// slide and the labels CSV.
    /// </summary>
    private (string Directory, IReadOnlyList<SlideLabel> Labels) WriteCohort(int train, int test)
    {
        var directory = _files.File("features");
        var random = new Random(11);
        var labels = new List<SlideLabel>();
        for (var i = 0; i < train + test; i++)
        {
            var isTest = i >= train;
            var tumour = i % 2 == 1;
            var id = isTest ? $"test_{i - train + 1:000}" : tumour ? $"tumor_{i + 1:000}" : $"normal_{i + 1:000}";
            var n = 20 + random.Next(41);
            float[] values;
            using (var noise = randn(n, Width, generator: new TorchSharp.torch.Generator((ulong)(1000 + i))))
            {
                values = noise.data<float>().ToArray();
            }
            if (tumour)
            {
                foreach (var row in Enumerable.Range(0, 6).Select(_ => random.Next(n)))
                {
                    for (var c = 0; c < Width; c++)
                    {
                        values[row * Width + c] += c < Width / 2 ? 2f : -2f;
                    }
                }
            }
            using var features = tensor(values, [n, Width]);
            var coords = new long[n, 2];
            for (var r = 0; r < n; r++)
            {
                (coords[r, 0], coords[r, 1]) = (256L * (r % 10), 256L * (r / 10));
            }
            Hdf5FeatureWriter.WriteSlideFile(Path.Combine(directory, id + ".h5"), features, coords, gzip: i % 3 == 0);
            labels.Add(new SlideLabel(id, tumour ? 1 : 0, null));
        }
        SlideLabels.Write(Path.Combine(directory, "labels.csv"), labels);
        return (directory, labels);
    }

    /// <summary>configs/camelyon.yml scaled down in D, M, I (and the epochs) to run in seconds on a CPU.</summary>
    /// <remarks>The test's own settings come last, so they win over the scaled defaults.</remarks>
    private static IpsConfig ScaledCamelyon(params string[] settings) => ConfigLoader.Load(RepositoryFiles.Path("configs/camelyon.yml"),
    [
        $"n_chan_in={Width}", "D=16", "D_k=8", "D_v=8", "D_inner=32", "H=2", "M=16", "I=32", "B=2", "B_seq=1",
        "n_epoch=10", "n_epoch_warmup=1", "lr=0.005", "n_worker=1", "attn_dropout=0", "dropout=0", .. settings,
    ]);

    private double TrainAndTestAuc(IpsConfig config, string layout)
    {
        var train = DatasetCatalog.Open(config, train: true);
        var test = DatasetCatalog.Open(config, train: false);
        Assert.IsType<Camelyon16Dataset>(train);
        using var trainer = new Trainer(config, CPU);
        Assert.Equal(LoadingMode.EagerSequential, trainer.Mode);
        for (var epoch = 0; epoch < config.NEpoch; epoch++)
        {
            var scores = trainer.TrainEpoch(train)["metastases"];
            output.WriteLine($"{layout}: epoch {epoch + 1} train loss {scores.Loss:F3} AUC {scores.Metric:F3}");
        }
        var auc = trainer.Evaluate(test)["metastases"].Metric;
        output.WriteLine($"{layout}: test AUC {auc:F3} on {test.Count} slides after {config.NEpoch} epochs on {train.Count}");
        return auc;
    }

    [Fact]
    public void The_scaled_camelyon_config_learns_from_per_slide_files_and_a_labels_csv()
    {
        var (directory, _) = WriteCohort(train: 32, test: 16);
        var config = ScaledCamelyon($"data_dir={directory}", "labels_csv=labels.csv");

        Assert.True(TrainAndTestAuc(config, "CLAM/TRIDENT files + labels CSV") > 0.9);
    }

    [Fact]
    public void The_scaled_camelyon_config_learns_from_packed_split_files()
    {
        var (directory, labels) = WriteCohort(train: 32, test: 16);
        foreach (var split in new[] { "train", "test" })
        {
            var sources = labels.Where(l => SlideLabels.SplitOf(l) == split)
                .Select(l => (l, source: Hdf5FeatureSource.OpenSlideFile(Path.Combine(directory, l.SlideId + ".h5")))).ToList();
            Hdf5FeatureWriter.WriteSplitFile(Path.Combine(directory, $"feat_{split}.hdf5"),
                [.. sources.Select(s => new PackedSlide(s.l.SlideId, s.l.Label, s.source, s.source.ReadCoords()))], gzip: true);
            sources.ForEach(s => s.source.Dispose());
        }
        var config = ScaledCamelyon($"data_dir={directory}", "train_fname=feat_train.hdf5", "test_fname=feat_test.hdf5");

        Assert.True(TrainAndTestAuc(config, "official split files") > 0.9);
    }

    [Fact]
    public void Slides_of_different_n_below_and_above_m_share_a_batch()
    {
        var (directory, _) = WriteCohort(train: 6, test: 2);
        // M 40 is more than some slides' N (20 .. 60): those keep all their rows, zero-padded to M.
        var config = ScaledCamelyon($"data_dir={directory}", "labels_csv=labels.csv", "M=40", "n_epoch=1", "B=6");
        var train = (Camelyon16Dataset)DatasetCatalog.Open(config, train: true);
        var counts = Enumerable.Range(0, train.Count).Select(i =>
        {
            using var sample = train.Load(i, train: true);
            return sample.Patches.Count;
        }).ToList();
        Assert.Contains(counts, n => n < 40);
        Assert.Contains(counts, n => n > 40);
        Assert.True(counts.Distinct().Count() > 1);

        using var trainer = new Trainer(config, CPU);
        var shapes = new List<long[]>();
        trainer.AfterBackward = (indices, _) => shapes.Add(indices.shape);
        var scores = trainer.TrainEpoch(train);
        Assert.Equal([6L, 40L], Assert.Single(shapes));
        Assert.True(double.IsFinite(scores["metastases"].Loss));
    }

    [Fact]
    public void Sample_labels_follow_the_task_activation()
    {
        var (directory, labels) = WriteCohort(train: 4, test: 2);
        var config = ScaledCamelyon($"data_dir={directory}", "labels_csv=labels.csv");
        var test = DatasetCatalog.Open(config, train: false);
        Assert.Equal(2, test.Count);
        using var sample = test.Load(1, train: false);
        Assert.Equal("test_002", sample.Id);
        Assert.Equal(new[] { 1f }, sample.Labels["metastases"].data<float>().ToArray());
        Assert.Equal(ScalarType.Float32, sample.Labels["metastases"].dtype);
        Assert.Equal(1, labels.Single(l => l.SlideId == "test_002").Label);
    }

    [Fact]
    public void A_wrong_feature_width_or_a_missing_slide_file_is_named()
    {
        var (directory, _) = WriteCohort(train: 4, test: 2);
        var wrongWidth = Assert.Throws<ArgumentException>(() =>
            DatasetCatalog.Open(ScaledCamelyon($"data_dir={directory}", "labels_csv=labels.csv", "n_chan_in=2048"), train: true));
        Assert.Contains("n_chan_in: 32", wrongWidth.Message, StringComparison.Ordinal);

        File.Delete(Path.Combine(directory, "test_001.h5"));
        var missing = Assert.Throws<FileNotFoundException>(() =>
            DatasetCatalog.Open(ScaledCamelyon($"data_dir={directory}", "labels_csv=labels.csv"), train: false));
        Assert.Contains("test_001", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Labels_come_from_training_names_and_the_reference_csv()
    {
        var root = _files.File("camelyon16");
        foreach (var file in new[] { "training/normal/normal_001.tif", "training/normal/normal_002.tif", "training/tumor/tumor_001.tif", "testing/images/test_001.tif", "testing/images/test_002.tif" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(root, file))!);
            File.WriteAllBytes(Path.Combine(root, file), []);
        }
        File.WriteAllText(Path.Combine(root, "testing", "reference.csv"), "test_001,Tumor,Macro,,\ntest_002,Normal,,,\ntest_003,Tumor,Micro,,\n");

        var labels = SlideLabels.FromCamelyon16(root);
        Assert.Equal(
            new[] { ("normal_001", 0, "train"), ("normal_002", 0, "train"), ("test_001", 1, "test"), ("test_002", 0, "test"), ("tumor_001", 1, "train") },
            labels.Select(l => (l.SlideId, l.Label, SlideLabels.SplitOf(l))).ToArray());

        var csv = Path.Combine(root, "labels.csv");
        Assert.Equal(0, Ips.Cli.CliApp.Create().Run(["data", "camelyon16", "labels", root]));
        Assert.Equal(
            "slide_id,label,split\nnormal_001,0,train\nnormal_002,0,train\ntest_001,1,test\ntest_002,0,test\ntumor_001,1,train\n",
            File.ReadAllText(csv));
        Assert.Equal(labels, SlideLabels.Read(csv));
    }

    [Fact]
    public void A_test_slide_missing_from_the_reference_is_named()
    {
        var root = _files.File("c16");
        Directory.CreateDirectory(root);
        File.WriteAllBytes(Path.Combine(root, "test_009.tif"), []);
        File.WriteAllText(Path.Combine(root, "reference.csv"), "test_001,Tumor,Macro,,\n");

        var error = Assert.Throws<InvalidDataException>(() => SlideLabels.FromCamelyon16(root));
        Assert.Contains("test_009", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_malformed_labels_csv_names_file_and_line()
    {
        var path = _files.File("bad.csv");
        File.WriteAllText(path, "slide_id,label\nnormal_001,0\ntumor_001,maybe\n");
        var error = Assert.Throws<InvalidDataException>(() => SlideLabels.Read(path));
        Assert.Contains($"{path}, line 3", error.Message, StringComparison.Ordinal);
    }
}
