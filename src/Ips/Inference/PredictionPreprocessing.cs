using Ips.Configuration;
using Ips.Data;
using Ips.Data.Traffic;

namespace Ips.Inference;

/// <summary>
/// How a prediction prepares photos: as the model's training recorded it in <c>test_preprocessing</c> (in the config
/// given, or in the checkpoint the weights come from), never by looking for the data set on this machine. For a model
/// that does not record it, the default of its config (<see cref="ImagePreprocessing.DefaultFor"/>), with a
/// <see cref="Note"/> that says so.
/// </summary>
/// <param name="Name"><see cref="ImagePreprocessing.Traffic"/> or <see cref="ImagePreprocessing.None"/>.</param>
/// <param name="Preprocessing">The preprocessing itself, at the config's geometry.</param>
/// <param name="Note">For the user, once: the preprocessing was not recorded and how it was chosen; null when recorded.</param>
public sealed record PredictionPreprocessing(string Name, IImagePreprocessing Preprocessing, string? Note)
{
    /// <summary>The preprocessing for <paramref name="config"/>'s model with the weights in <paramref name="weights"/>.</summary>
    /// <exception cref="ArgumentException">The config and the checkpoint record different preprocessings.</exception>
    public static PredictionPreprocessing For(IpsConfig config, string weights)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!config.IsImage)
        {
            // Feature matrices and slides through an encoder: no photo is prepared, so nothing needs saying.
            return Named(ImagePreprocessing.None, config, note: null);
        }
        var given = config.TestPreprocessing;
        var trained = ModelWeights.TrainedWith(weights)?.TestPreprocessing;
        if (given is not null && trained is not null && given != trained)
        {
            throw new ArgumentException(
                $"config {Path.GetFileName(config.Source)}: test_preprocessing is {given}, but --weights {weights} was trained with {trained}; drop the key from the config or correct it.");
        }
        if ((given ?? trained) is { } recorded)
        {
            return Named(recorded, config, note: null);
        }
        var name = ImagePreprocessing.DefaultFor(config);
        var preprocessing = ImagePreprocessing.Named(name, config);
        var what = preprocessing is TrafficPreprocessing traffic
            ? $"{name} (resize to {traffic.Width} x {traffic.Height}, ImageNet normalisation), the default of a config with the traffic-sign geometry and classes"
            : $"{name} (pixels as they are), the default of a config that is not a traffic-sign model";
        return new PredictionPreprocessing(name, preprocessing,
            $"test_preprocessing is recorded neither in config {Path.GetFileName(config.Source)} nor in --weights {Path.GetFileName(weights)} " +
            $"(training records it in a run's config.yml and checkpoints); using {what}");
    }

    private static PredictionPreprocessing Named(string name, IpsConfig config, string? note) =>
        new(name, ImagePreprocessing.Named(name, config), note);
}
