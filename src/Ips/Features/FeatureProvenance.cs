using System.Globalization;
using System.Reflection;
using Ips.Encoders;
using Ips.IO;
using Ips.Slides.Tiling;
using PureHDF;

namespace Ips.Features;

/// <summary>
/// Where a per-slide feature file came from, stored as attributes of the file (beside the CLAM/TRIDENT datasets, which
/// readers of that layout use unchanged): the slide (<c>slide</c>, <c>slide_bytes</c>), the tiling it was cut with
/// (<c>patch_level</c>, <c>patch_size</c>, <c>overlap</c>, <c>fg_perc_thresh</c>, <c>otsu_level</c>, and for tiles cut at
/// a resolution <c>target_mpp</c> or <c>target_magnification</c>, <c>level0_mpp</c>, <c>level0_magnification</c>), the encoder (see
/// <see cref="EncoderAttributes"/>) and the <c>ips_version</c> that wrote it. A rerun into the same folder compares
/// what it would write with this record, so that features of another encoder or tiling are never reused.
/// </summary>
/// <param name="Slide">The slide's file name.</param>
/// <param name="SlideBytes">The slide file's size in bytes.</param>
/// <param name="Tiling">How the tiles were cut (the coordinates file's parameters; its Otsu threshold is not recorded).</param>
/// <param name="Encoder">The encoder that embedded them.</param>
/// <param name="IpsVersion">The informational version of the library that wrote the file.</param>
public sealed record FeatureProvenance(string Slide, long SlideBytes, TileCoordsInfo Tiling, EncoderIdentity Encoder, string IpsVersion)
{
    private const string EncoderName = "encoder";
    private const string EncoderSha256 = "encoder_sha256";
    private const string EncoderNormalisation = "encoder_normalisation";
    private const string EncoderMean = "encoder_mean";
    private const string EncoderStd = "encoder_std";
    private const string EncoderInputSize = "encoder_input_size";
    private const string FeatureDim = "feature_dim";
    private const string EncoderArchitecture = "encoder_architecture";
    private const string EncoderPool = "encoder_pool";
    private const string Version = "ips_version";

    /// <summary>The informational version of this library, e.g. <c>0.1.0+3f2c1ab…</c>.</summary>
    public static string CurrentVersion { get; } =
        typeof(FeatureProvenance).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(FeatureProvenance).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>The provenance of features of <paramref name="slidePath"/> cut as <paramref name="tiling"/> says and embedded by <paramref name="encoder"/>.</summary>
    public static FeatureProvenance Of(string slidePath, TileCoordsInfo tiling, EncoderIdentity encoder)
    {
        // The length of the opened file: FileInfo.Length of a symbolic link is the link's own length.
        using var slide = File.OpenRead(slidePath);
        return new(Path.GetFileName(slidePath), slide.Length, tiling, encoder, CurrentVersion);
    }

    /// <summary>The file attributes that record this provenance.</summary>
    public Dictionary<string, object> Attributes()
    {
        var attributes = EncoderAttributes(Encoder);
        attributes["slide"] = Slide;
        attributes["slide_bytes"] = SlideBytes;
        attributes["patch_level"] = Tiling.PatchLevel;
        attributes["patch_size"] = Tiling.PatchSize;
        attributes["overlap"] = Tiling.Overlap;
        attributes["fg_perc_thresh"] = Tiling.FgPercThresh;
        attributes["otsu_level"] = Tiling.OtsuLevel;
        foreach (var (name, value) in ResolutionAttributes(Tiling))
        {
            attributes[name] = value;
        }
        return attributes;
    }

    /// <summary>The resolution attributes of tiles cut at one (<c>target_mpp</c>, <c>target_magnification</c>, <c>level0_mpp</c>, <c>level0_magnification</c>), those known.</summary>
    public static IEnumerable<(string Name, double Value)> ResolutionAttributes(TileCoordsInfo tiling)
    {
        ArgumentNullException.ThrowIfNull(tiling);
        (string, double?)[] all =
        [
            ("target_mpp", tiling.TargetMpp), ("target_magnification", tiling.TargetMagnification),
            ("level0_mpp", tiling.Level0Mpp), ("level0_magnification", tiling.Level0Magnification),
        ];
        return all.Where(a => a.Item2 is not null).Select(a => (a.Item1, a.Item2!.Value));
    }

    /// <summary>
    /// The attributes that name an encoder (<c>encoder</c> the weights file's name, <c>encoder_sha256</c>,
    /// <c>encoder_normalisation</c>, <c>encoder_mean</c> and <c>encoder_std</c> unless it is <c>none</c>,
    /// <c>encoder_input_size</c>, <c>feature_dim</c>, and for a vision transformer <c>encoder_architecture</c> and
    /// <c>encoder_pool</c>) and <c>ips_version</c>: those of a feature file and of a packed split file.
    /// </summary>
    public static Dictionary<string, object> EncoderAttributes(EncoderIdentity encoder)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        var attributes = new Dictionary<string, object>
        {
            [EncoderName] = encoder.Name,
            [EncoderSha256] = encoder.Sha256,
            [EncoderNormalisation] = encoder.Normalisation,
            [EncoderInputSize] = encoder.InputSize,
            [FeatureDim] = encoder.Width,
            [Version] = CurrentVersion,
        };
        if (encoder.Mean is { } mean && encoder.Std is { } std)
        {
            attributes[EncoderMean] = mean;
            attributes[EncoderStd] = std;
        }
        if (encoder.Architecture is { } architecture)
        {
            attributes[EncoderArchitecture] = architecture;
        }
        if (encoder.Pool is { } pool)
        {
            attributes[EncoderPool] = pool;
        }
        return attributes;
    }

    /// <summary>The provenance recorded in the feature file <paramref name="path"/>, or null when it records none (written before files recorded it, or by another tool).</summary>
    /// <exception cref="InvalidDataException">The file is damaged or a recorded attribute has the wrong type.</exception>
    public static FeatureProvenance? Read(string path)
    {
        using var file = Hdf5.OpenRead(path);
        return Hdf5.Guard(path, "the provenance attributes", () =>
        {
            if (ReadEncoder(file) is not { } encoder)
            {
                return null;
            }
            var tiling = new TileCoordsInfo(
                file.Attribute("patch_level").Read<int>(), file.Attribute("patch_size").Read<int>(), file.Attribute("overlap").Read<int>(),
                file.Attribute("fg_perc_thresh").Read<double>(), file.Attribute("otsu_level").Read<int>(), double.NaN)
            {
                TargetMpp = OptionalDouble(file, "target_mpp"),
                TargetMagnification = OptionalDouble(file, "target_magnification"),
                Level0Mpp = OptionalDouble(file, "level0_mpp"),
                Level0Magnification = OptionalDouble(file, "level0_magnification"),
            };
            return new FeatureProvenance(
                file.Attribute("slide").Read<string>(), file.Attribute("slide_bytes").Read<long>(), tiling, encoder, file.Attribute(Version).Read<string>());
        });
    }

    private static double? OptionalDouble(IH5Object owner, string name) =>
        owner.AttributeExists(name) ? owner.Attribute(name).Read<double>() : null;

    /// <summary>The encoder a packed split file records on itself, or null when it records none.</summary>
    /// <exception cref="InvalidDataException">The file is damaged or a recorded attribute has the wrong type.</exception>
    public static EncoderIdentity? ReadPackedEncoder(string path)
    {
        using var file = Hdf5.OpenRead(path);
        return Hdf5.Guard(path, "the encoder attributes", () => ReadEncoder(file));
    }

    /// <summary>The encoder recorded by <see cref="EncoderAttributes"/> on <paramref name="owner"/>, or null when none is.</summary>
    public static EncoderIdentity? ReadEncoder(IH5Object owner)
    {
        ArgumentNullException.ThrowIfNull(owner);
        if (!owner.AttributeExists(EncoderSha256))
        {
            return null;
        }
        var normalised = owner.AttributeExists(EncoderMean);
        return new EncoderIdentity(
            owner.Attribute(EncoderName).Read<string>(), owner.Attribute(EncoderSha256).Read<string>(), owner.Attribute(EncoderNormalisation).Read<string>(),
            normalised ? owner.Attribute(EncoderMean).Read<float[]>() : null, normalised ? owner.Attribute(EncoderStd).Read<float[]>() : null,
            owner.Attribute(EncoderInputSize).Read<int>(), owner.Attribute(FeatureDim).Read<int>(),
            owner.AttributeExists(EncoderArchitecture) ? owner.Attribute(EncoderArchitecture).Read<string>() : null,
            owner.AttributeExists(EncoderPool) ? owner.Attribute(EncoderPool).Read<string>() : null);
    }

    /// <summary>Whether tiles cut as <paramref name="tiling"/> are the tiles of this record (the Otsu threshold is a result, not a parameter).</summary>
    public bool SameTiling(TileCoordsInfo tiling)
    {
        ArgumentNullException.ThrowIfNull(tiling);
        return Tiling.PatchLevel == tiling.PatchLevel && Tiling.PatchSize == tiling.PatchSize && Tiling.Overlap == tiling.Overlap
            && Tiling.FgPercThresh.Equals(tiling.FgPercThresh) && Tiling.OtsuLevel == tiling.OtsuLevel
            && Nullable.Equals(Tiling.TargetMpp, tiling.TargetMpp) && Nullable.Equals(Tiling.TargetMagnification, tiling.TargetMagnification)
            && Nullable.Equals(Tiling.Level0Mpp, tiling.Level0Mpp) && Nullable.Equals(Tiling.Level0Magnification, tiling.Level0Magnification);
    }

    /// <summary>Why the feature file <paramref name="path"/> cannot stand for features of <paramref name="expected"/>, or null when it can.</summary>
    public static string? Conflict(string path, FeatureProvenance? recorded, FeatureProvenance expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        if (recorded is null)
        {
            return $"{path}: records no encoder (written before feature files recorded their provenance, or by another tool), so it may not hold features of {expected.Encoder}; give --overwrite to redo it";
        }
        if (!recorded.Encoder.SameFeatures(expected.Encoder))
        {
            return $"{path}: holds features of encoder {recorded.Encoder}, not of {expected.Encoder}; give --overwrite to redo it, or choose another --out";
        }
        return recorded.SameTiling(expected.Tiling)
            ? null
            : string.Create(CultureInfo.InvariantCulture,
                $"{path}: holds features of tiles cut with {recorded.Tiling}, not with {expected.Tiling} as the coordinates are now; give --overwrite to redo it, or choose another --out");
    }
}
