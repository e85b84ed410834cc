using Ips.Configuration;
using Ips.Data.MegapixelMnist;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Tests.Data;

public sealed class MegapixelMnistDatasetTests : IDisposable
{
    private static readonly MegapixelMnistOptions Options = new() { NTrain = 6, NTest = 3, Width = 200, Height = 150, NNoise = 10, Seed = 1 };
    private readonly TempDir _dir = new();

    public MegapixelMnistDatasetTests() =>
        MegapixelMnistGenerator.WriteDataset(_dir.Path, MnistTestData.Synthetic(200), MnistTestData.Synthetic(100, salt: 9), Options);

    public void Dispose() => _dir.Dispose();

    private static IpsConfig Config(int patch, int stride, int? n) => new()
    {
        Source = "configs/mpm-test.yml",
        PatchSize = [patch, patch],
        PatchStride = [stride, stride],
        N = n,
    };

    [Fact]
    public void Patches_follow_the_config_grid_and_cover_the_rendered_canvas()
    {
        var dataset = new MegapixelMnistDataset(_dir.Path, train: true, Config(50, 50, 12));
        Assert.Equal(6, dataset.Count);
        Assert.Equal((3, 4), (dataset.Grid.Rows, dataset.Grid.Cols));

        using var sample = dataset.Load(2, train: true);
        Assert.Equal(12, sample.Patches.Count);
        Assert.Equal(new long[] { 1, 50, 50 }, sample.Patches.PatchShape);
        Assert.Equal(DeviceType.CPU, sample.Patches.Device.type);

        using var scope = NewDisposeScope();
        var all = sample.Patches.Read(0, 12);
        Assert.Equal(new long[] { 12, 1, 50, 50 }, all.shape);
        Assert.Equal(ScalarType.Float32, all.dtype);
        // Row-major patches: patch 6 is grid row 1, column 2, i.e. canvas rows 50..99, columns 100..149.
        var canvas = dataset.Split.Render(2);
        Assert.True(all[6].eq(canvas[.., 50..100, 100..150]).all().item<bool>());
        Assert.True(sample.Patches.Read(5, 3).eq(all[5..8]).all().item<bool>());
        Assert.True(sample.Patches.Gather([11, 0, 6]).eq(torch.stack([all[11], all[0], all[6]])).all().item<bool>());
        // The 12 disjoint patches tile the 150 x 200 canvas exactly, so they hold all of its ink.
        Assert.Equal(canvas.sum().item<float>(), all.sum().item<float>(), 2);
    }

    [Fact]
    public void The_patch_holding_a_digit_has_its_pixels()
    {
        var dataset = new MegapixelMnistDataset(_dir.Path, train: false, Config(25, 25, 48));
        for (var i = 0; i < dataset.Count; i++)
        {
            using var sample = dataset.Load(i, train: false);
            using var scope = NewDisposeScope();
            foreach (var digit in dataset.Split.Samples[i].Digits)
            {
                var index = (digit.Row / 25 * dataset.Grid.Cols) + (digit.Col / 25);
                var patch = sample.Patches.Read(index, 1); // [1, 1, 25, 25]
                var (r, c) = (digit.Row % 25, digit.Col % 25);
                Assert.Equal(digit.Pixels[0] / 255f, patch[0, 0, r, c].item<float>());
                Assert.True(patch.count_nonzero().item<long>() > 0);
            }
        }
    }

    [Fact]
    public void Labels_have_the_task_dtypes_and_shapes()
    {
        var dataset = new MegapixelMnistDataset(_dir.Path, train: true, Config(50, 50, 12));
        using var sample = dataset.Load(0, train: true);
        var stored = dataset.Split.Samples[0];

        Assert.Equal(["majority", "max", "top", "multi"], sample.Labels.Keys.ToArray());
        foreach (var (task, value) in new[] { ("majority", stored.Majority), ("max", stored.Max), ("top", stored.Top) })
        {
            Assert.Equal(ScalarType.Int64, sample.Labels[task].dtype);
            Assert.Empty(sample.Labels[task].shape);
            Assert.Equal(value, sample.Labels[task].item<long>());
        }
        Assert.Equal(ScalarType.Float32, sample.Labels["multi"].dtype);
        Assert.Equal(new long[] { 10 }, sample.Labels["multi"].shape);
        Assert.Equal(stored.Multi, sample.Labels["multi"].data<float>().ToArray());
        Assert.Equal("train/0", sample.Id);
    }

    [Fact]
    public void Only_the_config_tasks_get_labels_and_unknown_task_names_are_refused()
    {
        TaskConfig Task(string name) => new() { Key = name, Id = 0, Name = name, ActFn = "softmax", Metric = "accuracy", NClass = 10 };
        var config = Config(50, 50, 12) with { Tasks = [Task("top")] };
        using (var sample = new MegapixelMnistDataset(_dir.Path, train: true, config).Load(1, train: true))
        {
            Assert.Equal(["top"], sample.Labels.Keys.ToArray());
        }

        var error = Assert.Throws<ArgumentException>(() => new MegapixelMnistDataset(_dir.Path, true, config with { Tasks = [Task("parity")] }));
        Assert.Contains("configs/mpm-test.yml", error.Message, StringComparison.Ordinal);
        Assert.Contains("parity", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_config_whose_N_does_not_match_the_grid_is_refused_naming_the_file()
    {
        var error = Assert.Throws<ArgumentException>(() => new MegapixelMnistDataset(_dir.Path, train: true, Config(50, 25, 12)));
        Assert.Contains("config configs/mpm-test.yml: N (12) must be 35", error.Message, StringComparison.Ordinal);
        Assert.Contains("5 x 7 patches", error.Message, StringComparison.Ordinal);

        var missing = Assert.Throws<ArgumentException>(() => new MegapixelMnistDataset(_dir.Path, train: true, Config(50, 50, null) with { PatchSize = null }));
        Assert.Contains("patch_size", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_directory_without_a_dataset_says_how_to_make_one()
    {
        using var empty = new TempDir();
        var error = Assert.Throws<FileNotFoundException>(() => new MegapixelMnistDataset(empty.Path, train: true, Config(50, 50, 12)));
        Assert.Contains("ips data megapixel-mnist", error.Message, StringComparison.Ordinal);
    }
}
