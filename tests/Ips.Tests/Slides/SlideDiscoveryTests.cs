using Ips.Slides;
using Ips.Slides.TileSets;

namespace Ips.Tests.Slides;

/// <summary>Slide discovery on a folder tree laid out as CAMELYON16 is, with the files that are not slides beside them.</summary>
public sealed class SlideDiscoveryTests : IDisposable
{
    private readonly TempFiles _files = new();

    public SlideDiscoveryTests()
    {
        // Discovery goes by name only, so empty files stand in for slides.
        foreach (var file in new[]
        {
            "training/normal/normal_002.tif", "training/normal/normal_001.tif", "training/normal/normal_001.qc.png",
            "training/tumor/tumor_001.TIF", "training/lesion_annotations/tumor_001.xml",
            "testing/images/test_001.svs", "testing/images/deeper/test_002.ndpi", "testing/reference.csv", "README.txt",
        })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(At(file))!);
            File.WriteAllBytes(At(file), []);
        }
    }

    public void Dispose() => _files.Dispose();

    private string At(string relative) => Path.Combine(_files.Root, relative);

    private string[] Paths(params string[] relative) => relative.Select(At).ToArray();

    [Fact]
    public void A_folder_gives_the_slides_of_all_its_subfolders_in_ordinal_order_and_nothing_else()
    {
        Assert.Equal(
            Paths("testing/images/deeper/test_002.ndpi", "testing/images/test_001.svs", "training/normal/normal_001.tif",
                "training/normal/normal_002.tif", "training/tumor/tumor_001.TIF"),
            SlideDiscovery.Find([_files.Root]));
    }

    [Fact]
    public void Inputs_keep_their_order_and_a_slide_reached_twice_is_listed_once()
    {
        var found = SlideDiscovery.Find([
            At("training/tumor"), At("training/normal"), At("training/normal/normal_002.tif"),
            At("training/normal/../normal"), At("testing/images/test_001.svs"), At("testing")]);

        Assert.Equal(
            Paths("training/tumor/tumor_001.TIF", "training/normal/normal_001.tif", "training/normal/normal_002.tif",
                "testing/images/test_001.svs", "testing/images/deeper/test_002.ndpi"),
            found);
    }

    [Fact]
    public void A_file_named_on_its_own_is_taken_as_given_even_when_missing()
    {
        var missing = At("elsewhere/normal_009.tif");

        Assert.Equal([At("README.txt"), missing], SlideDiscovery.Find([At("README.txt"), missing]));
    }

    [Fact]
    public void Two_slides_of_one_name_are_refused_because_their_outputs_would_collide()
    {
        File.WriteAllBytes(At("testing/images/normal_001.svs"), []);

        var error = Assert.Throws<ArgumentException>(() => SlideDiscovery.Find([_files.Root]));

        Assert.Contains(At("testing/images/normal_001.svs"), error.Message, StringComparison.Ordinal);
        Assert.Contains(At("training/normal/normal_001.tif"), error.Message, StringComparison.Ordinal);
        Assert.Contains("share the name 'normal_001'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_slide_is_found_by_name_anywhere_below_a_folder()
    {
        Assert.Equal(At("testing/images/deeper/test_002.ndpi"), SlideDiscovery.FindByName(_files.Root, "test_002"));
        Assert.Equal(At("training/tumor/tumor_001.TIF"), SlideDiscovery.FindByName(_files.Root, "tumor_001"));
        Assert.Null(SlideDiscovery.FindByName(_files.Root, "reference"));
        Assert.Null(SlideDiscovery.FindByName(_files.Root, "normal_003"));
    }

    [Fact]
    public void Pre_training_finds_the_slide_of_a_coordinates_file_in_a_subfolder()
    {
        var coords = At("coords/test_002.h5");
        Directory.CreateDirectory(Path.GetDirectoryName(coords)!);
        File.WriteAllBytes(coords, []);

        // The slide is found below --slides; the empty stand-in then fails to open as a coordinates file, naming it.
        var error = Assert.ThrowsAny<Exception>(() => TileInputs.Open([coords], _files.Root).Dispose());

        Assert.DoesNotContain("no slide named", error.Message, StringComparison.Ordinal);
        var missing = Assert.Throws<FileNotFoundException>(() => TileInputs.Open([At("coords/test_002.h5")], At("training")).Dispose());
        Assert.Contains("no slide named test_002", missing.Message, StringComparison.Ordinal);
    }
}
