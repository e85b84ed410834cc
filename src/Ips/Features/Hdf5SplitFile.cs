using Ips.IO;
using PureHDF;

namespace Ips.Features;

/// <summary>A slide listed in an official IPS split file.</summary>
/// <param name="Slide">The group name.</param>
/// <param name="Label">The group's <c>label</c> attribute.</param>
/// <param name="Count">Rows of its <c>img</c> dataset (tiles).</param>
public sealed record SplitFileSlide(string Slide, long Label, int Count);

/// <summary>The table of contents of an official IPS split file (one group per slide, <c>img</c>, <c>pos</c>, <c>label</c>).</summary>
public static class Hdf5SplitFile
{
    /// <summary>The slides of <paramref name="path"/> in the file's order, with their labels and tile counts.</summary>
    /// <exception cref="InvalidDataException">The file is damaged or a group lacks <c>img</c> or an integer <c>label</c>.</exception>
    public static IReadOnlyList<SplitFileSlide> ReadSlides(string path)
    {
        using var file = Hdf5.OpenRead(path);
        return Hdf5.Guard(path, "the slide groups", () =>
        {
            var slides = new List<SplitFileSlide>();
            foreach (var child in file.Children())
            {
                if (child is not IH5Group group)
                {
                    continue;
                }
                if (!group.LinkExists(Hdf5FeatureSource.ImgName))
                {
                    throw new InvalidDataException($"{path}: group '{group.Name}' has no '{Hdf5FeatureSource.ImgName}' dataset");
                }
                var dims = group.Dataset(Hdf5FeatureSource.ImgName).Space.Dimensions;
                slides.Add(new SplitFileSlide(group.Name, ReadLabel(group, path), dims.Length == 0 ? 0 : (int)dims[0]));
            }
            if (slides.Count == 0)
            {
                throw new InvalidDataException($"{path}: no slide groups; an IPS feature file holds one group per slide with '{Hdf5FeatureSource.ImgName}' and the attribute '{Hdf5FeatureSource.LabelName}'");
            }
            return (IReadOnlyList<SplitFileSlide>)slides;
        });
    }

    /// <summary>The integer (or boolean) attribute <c>label</c> of a slide group.</summary>
    private static long ReadLabel(IH5Group group, string path)
    {
        if (!group.AttributeExists(Hdf5FeatureSource.LabelName))
        {
            throw new InvalidDataException($"{path}: group '{group.Name}' has no '{Hdf5FeatureSource.LabelName}' attribute");
        }
        var attribute = group.Attribute(Hdf5FeatureSource.LabelName);
        return (attribute.Type.Class, attribute.Type.Size) switch
        {
            (H5DataTypeClass.FixedPoint, 8) => attribute.Read<long>(),
            (H5DataTypeClass.FixedPoint, 4) => attribute.Read<int>(),
            (H5DataTypeClass.FixedPoint, 2) => attribute.Read<short>(),
            (H5DataTypeClass.FixedPoint, 1) or (H5DataTypeClass.Enumerated, 1) => attribute.Read<byte>(),
            _ => throw new InvalidDataException(
                $"{path}: attribute '{Hdf5FeatureSource.LabelName}' of group '{group.Name}' is {attribute.Type.Class} of {attribute.Type.Size} bytes; expected an integer (0 or 1)"),
        };
    }
}
