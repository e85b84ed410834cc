using Ips.Configuration;
using Ips.Data;
using Ips.Encoders;
using Ips.Slides;
using static TorchSharp.torch;

namespace Ips.Inference;

/// <summary>
/// The one place where the kinds of prediction input are told apart and opened: a whole slide (by
/// <see cref="SlideInputOptions.ForceSlide"/> or <see cref="SlideInputOptions.Coords"/>, a vendor extension, or a
/// TIFF that holds a pyramid), a feature matrix (<see cref="FeatureInput.Extensions"/>), else an image. Holds the
/// frozen tile encoder that the slides of a feature config share, opened at the first such slide.
/// </summary>
internal sealed class PredictionInputs(IpsConfig config, IImagePreprocessing preprocessing, SlideInputOptions options, Device device) : IDisposable
{
    private TileEncoder? _tileEncoder;

    /// <summary>Opens <paramref name="input"/> as its kind of input; errors name the input or the option at fault.</summary>
    public IPredictionInput Open(string input)
    {
        if (options.Encoder is { } encoder && config.IsImage)
        {
            throw new ArgumentException(
                $"--encoder {encoder}: a tile encoder is for feature configs (is_image: false); config {Path.GetFileName(config.Source)} has is_image: true and encodes its patches itself. Drop --encoder, or use a feature config such as configs/camelyon.yml.");
        }
        if (OpenIfSlide(input) is { } slide)
        {
            try
            {
                return SlideInput.Open(input, slide, config, options, SlideEncoder(input));
            }
            catch
            {
                slide.Dispose();
                throw;
            }
        }
        if (FeatureInput.Extensions.Contains(Path.GetExtension(input).ToLowerInvariant()))
        {
            return FeatureInput.Open(input, config);
        }
        return ImageInput.Open(input, config, preprocessing);
    }

    /// <summary>
    /// Writes the attention picture of <paramref name="described"/>, an earlier prediction on its input, into
    /// <paramref name="directory"/>: a slide is opened for its thumbnail only (not tiled again), an image decoded and
    /// prepared again. Returns <paramref name="described"/> with the paths written; unchanged for a feature matrix.
    /// </summary>
    public Prediction DrawAttention(Prediction described, string directory, AttentionLabels labels)
    {
        string input = described.Input;
        if (OpenIfSlide(input) is { } slide)
        {
            using (slide)
            {
                return SlideInput.DrawAttention(input, slide, SlideInput.TumourOf(input, options.Annotations), described, directory, labels);
            }
        }
        if (FeatureInput.Extensions.Contains(Path.GetExtension(input).ToLowerInvariant()))
        {
            return described;
        }
        using var image = ImageInput.Open(input, config, preprocessing);
        return image.DrawAttention(described, directory, labels);
    }

    /// <inheritdoc />
    public void Dispose() => _tileEncoder?.Dispose();

    // The input opened as a slide when it is one, else null. A .tif/.tiff is a slide when it holds a pyramid (a plain
    // TIFF image stays an image); that test opens it, and the slide so opened is the one predicted on.
    private ISlide? OpenIfSlide(string input)
    {
        if (options.ForceSlide || options.Coords is not null)
        {
            return SlideOpener.Open(input, options.Reader);
        }
        if (!SlideOpener.IsSlidePath(input))
        {
            return null;
        }
        if (Path.GetExtension(input).ToLowerInvariant() is not (".tif" or ".tiff"))
        {
            return SlideOpener.Open(input, options.Reader);
        }
        ISlide slide;
        try
        {
            slide = SlideOpener.Open(input, options.Reader);
        }
        catch (Exception error) when (error is IOException or InvalidDataException)
        {
            // Not readable as a slide: the image reader gives the message.
            return null;
        }
        if (slide.Levels.Count > 1)
        {
            return slide;
        }
        slide.Dispose();
        return null;
    }

    // The encoder a slide needs: none for an RGB image config, the --encoder (opened once, checked against n_chan_in)
    // for a feature config.
    private TileEncoder? SlideEncoder(string input)
    {
        string name = Path.GetFileName(config.Source);
        if (config.IsImage)
        {
            if (config.NChanIn != 3)
            {
                throw new ArgumentException($"{input}: a slide needs an RGB image config (is_image: true, n_chan_in: 3) or a feature config with --encoder; config {name} has n_chan_in: {config.NChanIn}.");
            }
            return null;
        }
        if (options.Encoder is not { } path)
        {
            throw new ArgumentException(
                $"{input}: config {name} has is_image: false ({config.NChanIn}-d tile features), so a slide needs --encoder FILE (the byol.ckpt or torchvision ResNet .pth the features came from) to embed its tiles; or predict on the slide's feature file (.h5).");
        }
        if (_tileEncoder is null)
        {
            var encoder = TileEncoder.Open(new EncoderChoice(path, options.EncoderWeights, options.Pool, options.Normalisation), device);
            // The weights and pooling first: another pooling changes the width too, and is the cause to name.
            try
            {
                TrainedEncoder.RequireTileEncoder(config, encoder.Identity, path, options.Pool);
            }
            catch
            {
                encoder.Dispose();
                throw;
            }
            if (encoder.OutputDim != config.NChanIn)
            {
                encoder.Dispose();
                throw new ArgumentException(
                    $"--encoder {path}: gives {encoder.OutputDim}-d features but config {name} has n_chan_in {config.NChanIn}; use the encoder whose features the model was trained on.");
            }
            _tileEncoder = encoder;
        }
        return _tileEncoder;
    }
}
