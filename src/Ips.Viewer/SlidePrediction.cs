using System.Text.Json;

namespace Ips.Viewer;

/// <summary>A selected tile of a slide's prediction, as <c>ips predict</c> wrote it.</summary>
/// <param name="Rank">1 for the highest attention score.</param>
/// <param name="Index">The tile's index among the slide's tiles.</param>
/// <param name="Score">Its attention score.</param>
/// <param name="X">Left in level-0 pixels.</param>
/// <param name="Y">Top in level-0 pixels.</param>
/// <param name="Width">Width in level-0 pixels.</param>
/// <param name="Height">Height in level-0 pixels.</param>
public sealed record SelectedTile(int Rank, long Index, float Score, long X, long Y, long Width, long Height);

/// <summary>What <c>ips predict</c> said about one slide.</summary>
/// <param name="Input">The slide file the prediction was made from.</param>
/// <param name="Probabilities">Per task, its output probabilities.</param>
/// <param name="Selected">The selected tiles, by rank.</param>
/// <param name="Error">Why the prediction failed (with <c>--keep-going</c>); null when it did not.</param>
public sealed record SlidePrediction(
    string Input, IReadOnlyDictionary<string, float[]> Probabilities, IReadOnlyList<SelectedTile> Selected, string? Error)
{
    /// <summary>
    /// The probability the sidebar shows and sorts by: of the first task, the last class (the positive class of a
    /// two-class softmax, the output of a one-output sigmoid); null when there is none.
    /// </summary>
    public float? Probability => Probabilities.Values.FirstOrDefault() is { Length: > 0 } p ? p[^1] : null;

    /// <summary>
    /// Reads the predictions of <c>ips predict --out</c>: one JSON file, or every <c>*.json</c> of a folder, keyed
    /// by the input's file name without extension (the slide's name). Entries without a pixel box (images given as
    /// feature matrices) keep their probabilities and have no selected tiles to draw.
    /// </summary>
    /// <exception cref="InvalidDataException">A file that is not the JSON <c>ips predict</c> writes (names the file and what is wrong).</exception>
    public static IReadOnlyDictionary<string, SlidePrediction> Read(string fileOrFolder)
    {
        var files = Directory.Exists(fileOrFolder)
            ? Directory.EnumerateFiles(fileOrFolder, "*.json").Order(StringComparer.Ordinal).ToList()
            : File.Exists(fileOrFolder) ? [fileOrFolder]
            : throw new FileNotFoundException($"{fileOrFolder}: predictions not found (expected the JSON of `ips predict --out`, or a folder of them)", fileOrFolder);
        var byName = new Dictionary<string, SlidePrediction>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            foreach (var prediction in ReadFile(file))
            {
                byName[Path.GetFileNameWithoutExtension(prediction.Input)] = prediction;
            }
        }
        return byName;
    }

    private static List<SlidePrediction> ReadFile(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidDataException("expected a JSON array with one entry per input");
            }
            return [.. document.RootElement.EnumerateArray().Select(Parse)];
        }
        catch (Exception error) when (error is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            throw new InvalidDataException($"{path}: not the JSON of `ips predict --out`: {error.Message}");
        }
        catch (InvalidDataException error)
        {
            throw new InvalidDataException($"{path}: not the JSON of `ips predict --out`: {error.Message}");
        }
    }

    private static SlidePrediction Parse(JsonElement entry)
    {
        string input = entry.GetProperty("input").GetString() ?? throw new InvalidDataException("an entry's \"input\" is null");
        if (entry.TryGetProperty("error", out var error))
        {
            return new SlidePrediction(input, new Dictionary<string, float[]>(), [], error.GetString());
        }
        var probabilities = entry.GetProperty("probabilities").EnumerateObject()
            .ToDictionary(task => task.Name, task => task.Value.EnumerateArray().Select(p => p.GetSingle()).ToArray(), StringComparer.Ordinal);
        var boxed = entry.GetProperty("selected").EnumerateArray()
            .Where(tile => tile.TryGetProperty("box", out var box) && box.ValueKind == JsonValueKind.Object)
            .Select(tile => (Index: tile.GetProperty("index").GetInt64(), Score: tile.GetProperty("score").GetSingle(), Box: tile.GetProperty("box")))
            .OrderByDescending(tile => tile.Score)
            .ThenBy(tile => tile.Index);
        var selected = boxed.Select((tile, i) => new SelectedTile(i + 1, tile.Index, tile.Score,
            tile.Box.GetProperty("x").GetInt64(), tile.Box.GetProperty("y").GetInt64(),
            tile.Box.GetProperty("width").GetInt64(), tile.Box.GetProperty("height").GetInt64())).ToList();
        return new SlidePrediction(input, probabilities, selected, null);
    }
}
