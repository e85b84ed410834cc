namespace Ips.Tests.Cli;

/// <summary>
/// Paths as users have them: a cohort on a cluster is reached through symbolic links (to the folder, to each slide,
/// to subfolders), given relative to where the command runs, with spaces and non-ASCII letters in its names. Tiling,
/// feature extraction and packing through such paths give the same files as through plain ones.
/// </summary>
[Collection(nameof(TrainProcesses))]
public sealed class LinkedPathsTests(SixSlides slides) : IClassFixture<SixSlides>
{
    private void Run(params string[] args)
    {
        var (code, text) = CliProcess.Run(slides.Root, args);
        Assert.True(code == 0, $"ips {string.Join(' ', args)}:\n{text}");
    }

    private void Chain(string cohort, string encoder, string outDir)
    {
        Run("slides", "tile", cohort, "--out", Path.Combine(outDir, "tiles ß"), "--plain");
        Run("slides", "features", cohort, "--coords", Path.Combine(outDir, "tiles ß"), "--encoder", encoder, "--out", Path.Combine(outDir, "merkmale"),
            "--batch-size", "8", "--device", "cpu");
        Run("slides", "pack", Path.Combine(outDir, "merkmale"), "--labels", "Etiketten ä.csv", "--out", Path.Combine(outDir, "gepackt ü.hdf5"));
    }

    [Fact]
    public void A_cohort_through_linked_folders_and_linked_slides_with_spaces_and_umlauts_tiles_embeds_and_packs_as_plain_paths_do()
    {
        string[] names = ["Probe 01", "Probe ä 02", "Gewebe ß 03"];
        var root = slides.Root;
        File.WriteAllText(Path.Combine(root, "Etiketten ä.csv"), "slide_id,label\nProbe 01,1\nProbe ä 02,0\nGewebe ß 03,1\n");

        // Plain: real files under plain names.
        var plain = Path.Combine(root, "plain", "Gewebe ß");
        Directory.CreateDirectory(plain);
        for (var i = 0; i < names.Length; i++)
        {
            File.Copy(Path.Combine(slides.Slides, slides.Names[i] + ".tif"), Path.Combine(plain, names[i] + ".tif"));
        }

        // Linked: "kohorte link" -> "store/Gewebe ß", whose slides are links (absolute and relative) and whose subfolder
        // "mehr" is a link to a folder holding the third slide, itself a link; the encoder is reached through a link too.
        var store = Path.Combine(root, "store", "Gewebe ß");
        Directory.CreateDirectory(store);
        File.CreateSymbolicLink(Path.Combine(store, names[0] + ".tif"), Path.Combine(slides.Slides, slides.Names[0] + ".tif"));
        File.CreateSymbolicLink(Path.Combine(store, names[1] + ".tif"), Path.Combine("..", "..", "slides", slides.Names[1] + ".tif"));
        var extra = Path.Combine(root, "extra ü");
        Directory.CreateDirectory(extra);
        File.CreateSymbolicLink(Path.Combine(extra, names[2] + ".tif"), Path.Combine(slides.Slides, slides.Names[2] + ".tif"));
        Directory.CreateSymbolicLink(Path.Combine(store, "mehr"), extra);
        Directory.CreateSymbolicLink(Path.Combine(root, "kohorte link"), Path.Combine("store", "Gewebe ß"));
        // Feature files record the encoder's file name (provenance), so the link to it keeps that name, in a folder of its own.
        var encoderLink = Path.Combine("kodierer ö", Path.GetFileName(slides.Encoder));
        Directory.CreateDirectory(Path.Combine(root, "kodierer ö"));
        File.CreateSymbolicLink(Path.Combine(root, encoderLink), slides.Encoder);

        Chain(plain, slides.Encoder, Path.Combine(root, "aus plain"));
        // Relative paths: the run's working directory is the root.
        Chain("kohorte link", encoderLink, "aus link");

        Assert.Equal(names.Length * 2, OutputFolders.Files(Path.Combine(root, "aus plain", "tiles ß")).Count);
        OutputFolders.AssertSameFiles(Path.Combine(root, "aus plain"), Path.Combine(root, "aus link"), "plain-path");
    }

    [Fact]
    public void A_link_whose_slide_is_gone_gives_one_line_naming_the_link_and_its_target_and_the_other_slides_are_tiled()
    {
        var folder = Path.Combine(slides.Root, "verwaist ß");
        Directory.CreateDirectory(folder);
        var gone = Path.Combine(slides.Root, "moved away", "Probe 09.tif");
        File.CreateSymbolicLink(Path.Combine(folder, "Probe 09.tif"), gone);
        File.CreateSymbolicLink(Path.Combine(folder, "Probe 01.tif"), Path.Combine(slides.Slides, slides.Names[0] + ".tif"));

        var (code, text) = CliProcess.Run(slides.Root, "slides", "tile", folder, "--out", Path.Combine(slides.Root, "verwaist aus"), "--plain");

        Assert.True(code == 1, text);
        Assert.Contains($"error: {Path.Combine(folder, "Probe 09.tif")}: symbolic link to {gone}, which does not exist", text, StringComparison.Ordinal);
        Assert.Contains("done Probe 01.tif", text, StringComparison.Ordinal);
    }
}
