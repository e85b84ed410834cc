using Ips.Data.Traffic;

namespace Ips.Tests.Data.Traffic;

/// <summary>Reading STS annotation files, the official filter and labels, and the choice of sets.</summary>
public sealed class TrafficSignsTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private string Annotations(string text)
    {
        var path = _files.File($"annotations-{Guid.NewGuid():N}.txt");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void ParsesSignsSkippingMiscSignsEmptyLinesAndTrailingSemicolons()
    {
        var path = Annotations(
            "a.jpg:VISIBLE, 20.5, 30, 10, 12, PROHIBITORY, 70_SIGN;MISC_SIGNS;\n" +
            "\n" +
            "b.jpg:\n" +
            "   \n" +
            "c.jpg:BLURRED, 5, 6, 1, 2, WARNING, PEDESTRIAN_CROSSING; OCCLUDED, 9, 9.5x, 3, 4, PROHIBITORY, 50_SIGN;\n");
        var entries = StsAnnotations.Read(path);

        Assert.Equal(["a.jpg", "b.jpg", "c.jpg"], entries.Select(e => e.File));
        var a = Assert.Single(entries[0].Signs);
        Assert.Equal(new StsSign("VISIBLE", 20.5, 30, 10, 12, "PROHIBITORY", "70_SIGN"), a);
        Assert.Equal((20.5 - 10) * (30 - 12), a.Area);
        Assert.Empty(entries[1].Signs);
        Assert.Equal(2, entries[2].Signs.Count);
        // A coordinate with trailing junk is read up to its numeric prefix, as the official reader does.
        Assert.Equal(9.5, entries[2].Signs[1].YMax);
        Assert.Equal(3, entries[2].Signs[1].VisibilityRank);
    }

    [Theory]
    [InlineData("a.jpg:VISIBLE, 1, 2, 3, PROHIBITORY, 70_SIGN\n", "line 1", "has 6 fields")]
    [InlineData("a.jpg:\nno colon here\n", "line 2", "file.jpg:sign")]
    [InlineData("a.jpg:\n\nb.jpg:HIDDEN, 1, 2, 3, 4, PROHIBITORY, 70_SIGN\n", "line 3", "visibility 'HIDDEN'")]
    [InlineData("a.jpg:VISIBLE, 1, x, 3, 4, PROHIBITORY, 70_SIGN\n", "line 1", "coordinate 'x'")]
    public void BadLinesNameFileAndLine(string text, string line, string problem)
    {
        var path = Annotations(text);
        var error = Assert.Throws<InvalidDataException>(() => StsAnnotations.Read(path));
        Assert.Contains(path, error.Message);
        Assert.Contains(line, error.Message);
        Assert.Contains(problem, error.Message);
    }

    [Fact]
    public void FilterKeepsEmptyAndBestVisibleSpeedLimitAndDropsTheRest()
    {
        var path = Annotations(
            // no sign at all: EMPTY
            "empty.jpg:\n" +
            // only a MISC_SIGNS entry: no sign left, so EMPTY as in the official code
            "misc.jpg:MISC_SIGNS;\n" +
            // visibility decides before area: the VISIBLE 50 beats the larger BLURRED 80
            "visibility.jpg:BLURRED, 100, 100, 0, 0, PROHIBITORY, 80_SIGN;VISIBLE, 10, 10, 0, 0, PROHIBITORY, 50_SIGN\n" +
            // same visibility: the larger one wins
            "area.jpg:VISIBLE, 10, 10, 0, 0, PROHIBITORY, 50_SIGN;VISIBLE, 30, 30, 0, 0, PROHIBITORY, 70_SIGN;\n" +
            // other signs are ignored when a speed limit is there, even more visible ones
            "others.jpg:VISIBLE, 90, 90, 0, 0, WARNING, PEDESTRIAN_CROSSING;VISIBLE, 5, 5, 0, 0, PROHIBITORY, 80_SIGN\n" +
            // only other signs: dropped
            "only-others.jpg:VISIBLE, 90, 90, 0, 0, WARNING, PEDESTRIAN_CROSSING\n" +
            // the best speed limit is not VISIBLE: dropped
            "occluded.jpg:OCCLUDED, 90, 90, 0, 0, PROHIBITORY, 70_SIGN;SIDE_ROAD, 9, 9, 0, 0, PROHIBITORY, 50_SIGN\n" +
            // another speed limit (not 50/70/80) counts as another sign
            "limit30.jpg:VISIBLE, 90, 90, 0, 0, PROHIBITORY, 30_SIGN\n");
        var kept = TrafficSigns.Filter(StsAnnotations.Read(path));

        Assert.Equal(
            [("empty.jpg", 0), ("misc.jpg", 0), ("visibility.jpg", 1), ("area.jpg", 2), ("others.jpg", 3)],
            kept);
        Assert.Equal(["EMPTY", "50_SIGN", "70_SIGN", "80_SIGN"], TrafficSigns.Classes);
    }

    [Theory]
    [InlineData(0, true, "Set1")]
    [InlineData(0, false, "Set2")]
    [InlineData(1, true, "Set2")]
    [InlineData(1, false, "Set1")]
    [InlineData(2, true, "Set1")]
    [InlineData(-1, true, "Set2")]
    public void SetsAreChosenBySeedAsTheOfficialCode(int seed, bool train, string set) =>
        Assert.Equal(set, TrafficSigns.SetFor(seed, train));

    [Fact]
    public void GeneratedDataSetOpensWithTheKeptImagesAndLabels()
    {
        StsTestData.Write(_files.Root, perClass: 2, width: 64, height: 48);
        var config = TrafficTestConfig.Scaled(_files.Root);
        var train = new TrafficSignsDataset(_files.Root, train: true, config);
        var test = new TrafficSignsDataset(_files.Root, train: false, config);
        Assert.Equal(("Set1", "Set2"), (train.Set, test.Set));
        Assert.Equal([2, 2, 2, 2], train.CountPerClass());
        Assert.Equal(8, test.Count);
        using var sample = train.Load(2, train: false); // files 0-1 EMPTY, 2-3 50_SIGN
        Assert.Equal(1L, sample.Labels["sign"].item<long>());
        Assert.Equal(48, sample.Patches.Count);
        Assert.Equal([3L, 16, 16], sample.Patches.PatchShape);
    }
}
