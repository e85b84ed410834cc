using System.Reflection;
using Ips.IO;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Ips.Encoders;

/// <summary>
/// The ImageNet weights an image encoder starts from when a config says <c>pretrained: true</c>: the user's
/// torchvision state_dict (<c>pretrained_weights</c>) when given, else, for resnet18, the ResNet-18 of the NuGet
/// package <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> converted once into torchvision's layout and input
/// convention and kept in the cache.
/// </summary>
public static class PretrainedWeights
{
    /// <summary>The NuGet package that ships the ONNX ResNet-18.</summary>
    public const string PackageId = "Microsoft.ML.DnnImageFeaturizer.ResNet18";

    /// <summary>The package version the build downloads (see src/Ips/Ips.csproj).</summary>
    public const string PackageVersion = "0.23.1";

    private const string ModelPath = "tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx";
    private const string PreprocessPath = "tools/DnnImageModels/ResNetPrepOnnx/ResNetPreprocess.onnx";

    /// <summary>The cached converted state_dict: <c>&lt;cache&gt;/pretrained/resnet18-imagenet-dnnimagefeaturizer-0.23.1.pth</c>.</summary>
    public static string CachedResNet18Path() => CachedResNet18Path(CacheDirectory.Root());

    internal static string CachedResNet18Path(string cacheRoot) =>
        Path.Combine(cacheRoot, "pretrained", $"resnet18-imagenet-dnnimagefeaturizer-{PackageVersion}.pth");

    /// <summary>
    /// The package folder holding the ONNX files, or null: the folder the build restored it to (recorded in this
    /// assembly), else <c>$NUGET_PACKAGES</c>, else <c>~/.nuget/packages</c>.
    /// </summary>
    public static string? FindPackage()
    {
        var candidates = new List<string>();
        var built = typeof(PretrainedWeights).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "ResNet18OnnxPackageDir")?.Value;
        if (!string.IsNullOrEmpty(built))
        {
            candidates.Add(built);
        }
        var relative = Path.Combine(PackageId.ToLowerInvariant(), PackageVersion);
        if (Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } packages)
        {
            candidates.Add(Path.Combine(packages, relative));
        }
        candidates.Add(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages", relative));
        return candidates.FirstOrDefault(dir => File.Exists(Path.Combine(dir, ModelPath)) && File.Exists(Path.Combine(dir, PreprocessPath)));
    }

    /// <summary>The ONNX model and its preprocessing model inside <paramref name="packageDir"/>.</summary>
    public static (string Model, string Preprocess) OnnxFiles(string packageDir) =>
        (Path.Combine(packageDir, ModelPath), Path.Combine(packageDir, PreprocessPath));

    /// <summary>
    /// The path of the cached torchvision-layout ResNet-18 state_dict that takes torchvision's input (RGB in [0, 1],
    /// ImageNet mean/std normalised); converts the package's ONNX model into it first when it is not cached yet.
    /// </summary>
    /// <exception cref="FileNotFoundException">The package is neither cached nor restored.</exception>
    public static string EnsureResNet18() => EnsureResNet18(CacheDirectory.Root());

    /// <summary><see cref="EnsureResNet18()"/> with the cache at <paramref name="cacheRoot"/>.</summary>
    internal static string EnsureResNet18(string cacheRoot)
    {
        var target = CachedResNet18Path(cacheRoot);
        if (File.Exists(target))
        {
            return target;
        }
        var package = FindPackage() ?? throw new FileNotFoundException(
            $"pretrained: true for resnet18 needs ImageNet weights: set pretrained_weights to torchvision's resnet18 state_dict, " +
            $"or restore the NuGet package {PackageId} {PackageVersion} (the build downloads it: run `dotnet restore` or `dotnet build`; " +
            "it is looked for in the folder the build used, $NUGET_PACKAGES and ~/.nuget/packages).");
        var state = ConvertPackage(package, foldImageNetInput: true);
        try
        {
            AtomicFile.Write(target, temporary =>
            {
                using var stream = File.Create(temporary);
                PyTorchPickler.PickleStateDict(stream, state, leaveOpen: true);
            });
        }
        finally
        {
            foreach (var tensor in state.Values)
            {
                tensor.Dispose();
            }
        }
        return target;
    }

    /// <summary>
    /// The package's ResNet-18 as a torchvision-layout state_dict, taking torchvision's input when
    /// <paramref name="foldImageNetInput"/>, else the export's own (BGR on the 0-255 scale minus the mean image).
    /// The caller owns the tensors.
    /// </summary>
    internal static Dictionary<string, Tensor> ConvertPackage(string packageDir, bool foldImageNetInput)
    {
        var (modelPath, preprocessPath) = OnnxFiles(packageDir);
        var state = OnnxResNet18.Convert(OnnxModel.Read(modelPath), modelPath);
        if (foldImageNetInput)
        {
            OnnxResNet18.FoldImageNetInput(state, OnnxResNet18.MeanBgr(OnnxModel.Read(preprocessPath), preprocessPath));
        }
        return state;
    }

    /// <summary>One line per encoder type on where its ImageNet weights come from, for <c>ips doctor</c>.</summary>
    public static IReadOnlyList<(string Encoder, string Source)> Describe()
    {
        var cached = CachedResNet18Path();
        string resnet18;
        if (File.Exists(cached))
        {
            resnet18 = $"converted from {PackageId} {PackageVersion}, cached at {cached}; a pretrained_weights file takes precedence";
        }
        else if (FindPackage() is { } package)
        {
            resnet18 = $"{PackageId} {PackageVersion} found at {package}; converted into {cached} on first use; a pretrained_weights file takes precedence";
        }
        else
        {
            resnet18 = $"only from a pretrained_weights file: {PackageId} {PackageVersion} is not restored (run dotnet restore)";
        }
        return
        [
            ("resnet18", resnet18),
            ("resnet50", "only from a pretrained_weights file (torchvision's resnet50 ImageNet state_dict)"),
        ];
    }
}
