using Ips.Slides;
using Ips.Slides.Annotations;
using Ips.Slides.Tiling;

namespace Ips.Viewer;

/// <summary>One slide the viewer lists, with what the other inputs say about it.</summary>
/// <param name="Id">Its number in the list (0-based), used in the viewer's URLs.</param>
/// <param name="Name">The file name without extension, which matches predictions, coordinates and annotations to it.</param>
/// <param name="Path">The slide file.</param>
/// <param name="Prediction">Its prediction, when <c>--predictions</c> holds one.</param>
/// <param name="CoordsPath">Its tile coordinates file (<c>NAME.h5</c> of <c>--coords</c>), when there is one.</param>
/// <param name="AnnotationsPath">Its ASAP XML (<c>NAME.xml</c> of <c>--annotations</c>), when there is one.</param>
public sealed record ViewerSlide(int Id, string Name, string Path, SlidePrediction? Prediction, string? CoordsPath, string? AnnotationsPath);

/// <summary>The tissue tiles of a coordinates file: level-0 top-left corners and the side of a tile in level-0 pixels.</summary>
/// <param name="Size">Tile side in level-0 pixels.</param>
/// <param name="Corners">x0, y0, x1, y1, ... of every tile.</param>
public sealed record TissueTiles(double Size, int[] Corners);

/// <summary>The tumour outlines of an annotation file, each polygon as x0, y0, x1, y1, ... in level-0 pixels.</summary>
/// <param name="Tumour">Annotated tumour.</param>
/// <param name="Exclusions">Areas annotated as not tumour inside tumour.</param>
public sealed record TumourOutlines(IReadOnlyList<double[]> Tumour, IReadOnlyList<double[]> Exclusions);

/// <summary>
/// The slides of <c>ips view</c>: the slide or the slides of a folder (<see cref="SlideDiscovery"/>), each matched by
/// name to its prediction, tile coordinates and annotations.
/// </summary>
public sealed class ViewerCatalog
{
    private ViewerCatalog(IReadOnlyList<ViewerSlide> slides) => Slides = slides;

    /// <summary>The slides, in discovery order.</summary>
    public IReadOnlyList<ViewerSlide> Slides { get; }

    /// <summary>
    /// The largest attention score of any selected tile of any slide: the top of the one colour scale every slide's
    /// heat map shares, so that a slide with low attention everywhere looks calm next to one with a hot spot.
    /// </summary>
    public float MaxScore => Slides.SelectMany(s => s.Prediction?.Selected ?? []).Select(t => t.Score).DefaultIfEmpty(0f).Max();

    /// <summary>Finds the slides (none for a folder without any) and reads the predictions (errors name the file at fault).</summary>
    /// <param name="slideOrFolder">A slide file, or a folder searched with its subfolders.</param>
    /// <param name="predictions">The JSON of <c>ips predict --out</c>, or a folder of them.</param>
    /// <param name="coords">A folder of tile coordinates files (<c>ips slides tile</c>): NAME.h5.</param>
    /// <param name="annotations">A folder of ASAP XML annotations: NAME.xml.</param>
    /// <exception cref="FileNotFoundException">An input that does not exist.</exception>
    /// <exception cref="InvalidDataException">Predictions that are not <c>ips predict</c>'s JSON.</exception>
    public static ViewerCatalog Open(string slideOrFolder, string? predictions, string? coords, string? annotations)
    {
        if (!File.Exists(slideOrFolder) && !Directory.Exists(slideOrFolder))
        {
            throw new FileNotFoundException($"{slideOrFolder}: slide or folder not found", slideOrFolder);
        }
        RequireFolder(coords, "--coords");
        RequireFolder(annotations, "--annotations");
        var paths = SlideDiscovery.Find([slideOrFolder]);
        var predicted = predictions is null ? new Dictionary<string, SlidePrediction>() : SlidePrediction.Read(predictions);
        return new ViewerCatalog([.. paths.Select((path, id) =>
        {
            string name = System.IO.Path.GetFileNameWithoutExtension(path);
            return new ViewerSlide(id, name, path, predicted.GetValueOrDefault(name),
                Companion(coords, name, ".h5"), Companion(annotations, name, ".xml"));
        })]);
    }

    /// <summary>The tissue tiles of <paramref name="slide"/>'s coordinates file, sized with <paramref name="levels"/>.</summary>
    public static TissueTiles ReadTissue(ViewerSlide slide, IReadOnlyList<SlideLevel> levels)
    {
        var coords = TileCoordsFile.Read(slide.CoordsPath!);
        if (coords.Info.PatchLevel >= levels.Count)
        {
            throw new InvalidDataException($"{slide.CoordsPath}: tiles cut from level {coords.Info.PatchLevel}, but {slide.Path} has {levels.Count} level(s)");
        }
        var corners = new int[coords.Count * 2];
        for (int i = 0; i < coords.Count; i++)
        {
            corners[2 * i] = coords.Coords[i, 0];
            corners[2 * i + 1] = coords.Coords[i, 1];
        }
        return new TissueTiles(coords.Info.PatchSize * levels[coords.Info.PatchLevel].Downsample, corners);
    }

    /// <summary>The tumour outlines of <paramref name="slide"/>'s annotation file.</summary>
    public static TumourOutlines ReadTumour(ViewerSlide slide)
    {
        var regions = AsapAnnotations.Read(slide.AnnotationsPath!);
        return new TumourOutlines([.. regions.Tumour.Select(Flatten)], [.. regions.Exclusions.Select(Flatten)]);
    }

    private static double[] Flatten(AnnotationPolygon polygon) =>
        [.. polygon.X.Zip(polygon.Y).SelectMany(point => new[] { point.First, point.Second })];

    private static void RequireFolder(string? folder, string option)
    {
        if (folder is not null && !Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"{option} {folder}: folder not found");
        }
    }

    private static string? Companion(string? folder, string name, string extension) =>
        folder is not null && System.IO.Path.Combine(folder, name + extension) is var path && File.Exists(path) ? path : null;
}
