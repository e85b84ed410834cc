namespace Ips.Slides;

/// <summary>
/// Finds slide files: the one place that says which files of a folder are slides, so that tiling, feature extraction
/// and pre-training see the same cohort. Folders are searched with their subfolders: CAMELYON16 keeps its slides in
/// <c>training/normal</c>, <c>training/tumor</c> and <c>testing/images</c>.
/// </summary>
public static class SlideDiscovery
{
    /// <summary>
    /// The slides named by <paramref name="inputs"/>, each once. A file is taken as given, whatever its extension, since
    /// naming it says it is a slide; one that does not exist is kept too, for the caller to report. A folder gives
    /// the files with a slide extension (<see cref="SlideOpener.IsSlidePath"/>) in it and its subfolders, in ordinal
    /// order of their paths; other files (annotations, QC pictures, notes) are skipped. Inputs keep the order given,
    /// and a slide reached twice (a folder given twice, or a folder and a file in it) is listed where first reached.
    /// </summary>
    /// <exception cref="ArgumentException">Two slides share a name: outputs are named after the slide, so they would collide.</exception>
    public static IReadOnlyList<string> Find(IEnumerable<string> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var slides = new List<string>();
        foreach (var input in inputs)
        {
            foreach (var slide in Directory.Exists(input) ? SlidesIn(input) : [input])
            {
                if (seen.Add(Path.GetFullPath(slide)))
                {
                    slides.Add(slide);
                }
            }
        }
        var clash = slides.GroupBy(Path.GetFileNameWithoutExtension, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (clash is not null)
        {
            throw new ArgumentException(
                $"slides {string.Join(" and ", clash.Take(2))} share the name '{clash.Key}', so their outputs would collide; give them to separate runs with different --out folders");
        }
        return slides;
    }

    /// <summary>
    /// The slide file called <paramref name="name"/> (without its extension) in <paramref name="folder"/> or a folder
    /// below it, the first in ordinal order of the paths when there are several; null when there is none.
    /// </summary>
    public static string? FindByName(string folder, string name) =>
        SlidesIn(folder).FirstOrDefault(file => Path.GetFileNameWithoutExtension(file) == name);

    private static IEnumerable<string> SlidesIn(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Where(SlideOpener.IsSlidePath).Order(StringComparer.Ordinal);
}
