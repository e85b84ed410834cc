using System.Runtime.CompilerServices;
using Ips.Features;
using static TorchSharp.torch;

namespace Ips.Tests.Features;

public sealed class Hdf5FeatureSourceTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>Row i, column j of a matrix with offset o: o + i + j / 10, as make_h5py_fixtures.py writes.</summary>
    private static float[] Matrix(int rows, int cols, float offset) =>
        [.. Enumerable.Range(0, rows * cols).Select(k => (float)(offset + (k / cols) + (k % cols) / 10.0))];

    private static string Fixture(string name, [CallerFilePath] string here = "") =>
        Path.Combine(Path.GetDirectoryName(here)!, "Fixtures", name);

    private static long[,] Coords(int rows)
    {
        var coords = new long[rows, 2];
        for (var i = 0; i < rows; i++)
        {
            coords[i, 0] = 256L * i;
            coords[i, 1] = 1000 + i;
        }
        return coords;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_slide_file_round_trips_by_range_and_by_index(bool gzip)
    {
        var path = _files.File("slide.h5");
        var data = Matrix(300, 6, 0.5f);
        using (var features = tensor(data, [300, 6]))
        {
            Hdf5FeatureWriter.WriteSlideFile(path, features, Coords(300), gzip, new Dictionary<string, object> { ["patch_size"] = 256 });
        }

        using var source = Hdf5FeatureSource.OpenSlideFile(path);
        Assert.Equal(300, source.Count);
        Assert.Equal(new long[] { 6 }, source.PatchShape);
        Assert.Equal("features", source.DatasetPath);
        using var middle = source.Read(97, 70);
        Assert.Equal(data[(97 * 6)..(167 * 6)], middle.data<float>().ToArray());
        long[] order = [299, 3, 4, 5, 0, 0, 150];
        using var gathered = source.Gather(order);
        Assert.Equal(order.SelectMany(r => data[(int)(r * 6)..(int)(r * 6 + 6)]).ToArray(), gathered.data<float>().ToArray());
        Assert.Equal(Coords(300), source.ReadCoords());
    }

    [Fact]
    public void A_split_file_round_trips_with_labels_positions_and_coordinates()
    {
        var first = _files.File("a.h5");
        var second = _files.File("b.h5");
        using (var a = tensor(Matrix(9, 4, 10), [9, 4]))
        using (var b = tensor(Matrix(20, 4, 50), [20, 4]))
        {
            Hdf5FeatureWriter.WriteSlideFile(first, a, Coords(9), gzip: true);
            Hdf5FeatureWriter.WriteSlideFile(second, b, Coords(20), gzip: false);
        }
        var packed = _files.File("train.hdf5");
        using (var a = Hdf5FeatureSource.OpenSlideFile(first))
        using (var b = Hdf5FeatureSource.OpenSlideFile(second))
        {
            Hdf5FeatureWriter.WriteSplitFile(packed, [new PackedSlide("tumor_001", 1, a, a.ReadCoords()), new PackedSlide("normal_001", 0, b, null)], gzip: true);
        }

        var slides = Hdf5SplitFile.ReadSlides(packed);
        Assert.Equal(new[] { ("tumor_001", 1L), ("normal_001", 0L) }, slides.Select(s => (s.Slide, s.Label)).ToArray());
        using var tumour = Hdf5FeatureSource.OpenGroup(packed, "tumor_001");
        Assert.Equal("tumor_001/img", tumour.DatasetPath);
        using var rows = tumour.Read(0, 9);
        Assert.Equal(Matrix(9, 4, 10), rows.data<float>().ToArray());
        Assert.Equal(Coords(9), tumour.ReadCoords());
        using var normal = Hdf5FeatureSource.OpenGroup(packed, "normal_001");
        using var picked = normal.Gather([19, 0]);
        Assert.Equal(Matrix(20, 4, 50)[76..80].Concat(Matrix(20, 4, 50)[0..4]).ToArray(), picked.data<float>().ToArray());
        Assert.Null(normal.ReadCoords());
    }

    [Fact]
    public void Files_written_by_h5py_read_in_both_layouts()
    {
        var official = Fixture("official_h5py.hdf5");
        var slides = Hdf5SplitFile.ReadSlides(official);
        Assert.Equal(new[] { ("normal_002", 0L), ("tumor_001", 1L) }, slides.Select(s => (s.Slide, s.Label)).OrderBy(s => s.Slide).ToArray());
        using (var tumour = Hdf5FeatureSource.OpenGroup(official, "tumor_001"))
        using (var rows = tumour.Read(2, 3))
        {
            Assert.Equal(7, tumour.Count);
            Assert.Equal(Matrix(7, 4, 100)[8..20], rows.data<float>().ToArray());
        }

        using var clam = Hdf5FeatureSource.OpenSlideFile(Fixture("clam_h5py.h5"));
        using var all = clam.Read(0, 6);
        Assert.Equal(Matrix(6, 4, 300), all.data<float>().ToArray());
        var coords = clam.ReadCoords()!;
        Assert.Equal(new long[] { 1280, 512 }, new[] { coords[5, 0], coords[5, 1] });
    }

    [Fact]
    public void A_truncated_file_is_reported_with_its_name()
    {
        var path = _files.File("cut.h5");
        using (var features = tensor(Matrix(400, 8, 0), [400, 8]))
        {
            Hdf5FeatureWriter.WriteSlideFile(path, features, Coords(400), gzip: false);
        }
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        var error = Assert.Throws<InvalidDataException>(() => Hdf5FeatureSource.OpenSlideFile(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("this is not an HDF5 file but a text file that happens to be long enough to hold a superblock")]
    public void A_file_that_is_not_hdf5_is_reported_with_its_name(string content)
    {
        var path = _files.File("text.h5");
        File.WriteAllText(path, content);

        var error = Assert.Throws<InvalidDataException>(() => Hdf5FeatureSource.OpenSlideFile(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("not an HDF5 file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_without_features_names_the_file_and_the_expected_dataset()
    {
        var path = _files.File("other.h5");
        new PureHDF.H5File { ["embeddings"] = new float[] { 1, 2, 3 } }.Write(path);

        var error = Assert.Throws<InvalidDataException>(() => Hdf5FeatureSource.OpenSlideFile(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("'features'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rows_outside_the_matrix_are_refused()
    {
        var path = _files.File("small.h5");
        using (var features = tensor(Matrix(3, 2, 0), [3, 2]))
        {
            Hdf5FeatureWriter.WriteSlideFile(path, features, Coords(3), gzip: false);
        }
        using var source = Hdf5FeatureSource.OpenSlideFile(path);
        Assert.Throws<ArgumentOutOfRangeException>(() => source.Read(2, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => source.Gather([3]));
    }
}
