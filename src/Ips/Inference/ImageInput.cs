using Ips.Configuration;
using Ips.Data;
using Ips.Imaging;
using Ips.Patches;

namespace Ips.Inference;

/// <summary>
/// An image file (PNG, JPEG, TIFF) as a prediction input: decoded once, prepared as the model's data set prepared its
/// test images (<see cref="IImagePreprocessing"/>), cut into the config's patch grid. Selected patches get their pixel
/// boxes; the attention picture is drawn on the prepared photo.
/// </summary>
internal sealed class ImageInput : IPredictionInput
{
    private readonly string _input;
    private readonly PreparedImage _prepared;
    private readonly PatchGrid _grid;

    private ImageInput(string input, PreparedImage prepared, PatchGrid grid)
    {
        _input = input;
        _prepared = prepared;
        _grid = grid;
        Patches = TensorPatchSource.FromImage(prepared.Input.alias(), grid);
    }

    /// <inheritdoc />
    public IPatchSource Patches { get; }

    /// <summary>Decodes and prepares <paramref name="input"/> for <paramref name="config"/>, an image config.</summary>
    /// <exception cref="ArgumentException">The config expects feature matrices, or the image does not make its patch grid.</exception>
    public static ImageInput Open(string input, IpsConfig config, IImagePreprocessing preprocessing)
    {
        if (!config.IsImage)
        {
            throw new ArgumentException($"{input}: config {Path.GetFileName(config.Source)} has is_image: false and expects a feature matrix (.npy, .safetensors, or a CLAM/TRIDENT .h5).");
        }
        PreparedImage prepared;
        using (var photo = ImageFile.Load(input, config.NChanIn))
        {
            prepared = preprocessing.Prepare(photo);
        }
        PatchGrid grid;
        try
        {
            grid = PatchExtraction.GridFor((int)prepared.Input.shape[1], (int)prepared.Input.shape[2], config.PatchSize!, config.PatchStride!, config.N, Path.GetFileName(config.Source));
        }
        catch (ArgumentException error)
        {
            prepared.Dispose();
            throw new ArgumentException($"{input}: {error.Message}", error);
        }
        return new ImageInput(input, prepared, grid);
    }

    /// <inheritdoc />
    public Prediction Describe(Prediction prediction) =>
        prediction with { Selected = [.. prediction.Selected.Select(p => p with { Box = _grid.Box(p.Index) })] };

    /// <inheritdoc />
    public Prediction DrawAttention(Prediction described, string directory, AttentionLabels labels)
    {
        string picture = AttentionMap.PathFor(directory, _input);
        AttentionMap.Render(_prepared.Picture, _grid, [.. described.Selected.Select(p => p.Index)], [.. described.Selected.Select(p => p.Score)], picture, maxSide: 1024, labels, minSide: 384);
        return described with { AttentionMap = picture };
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Patches.Dispose();
        _prepared.Dispose();
    }
}
