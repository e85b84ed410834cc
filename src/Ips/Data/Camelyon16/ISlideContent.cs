namespace Ips.Data.Camelyon16;

/// <summary>
/// The pixels of a slide to be written, given as a function of position rather than held in memory, so that
/// <see cref="PyramidalTiffWriter"/> can write slides far larger than memory one tile at a time. Positions are in
/// level-0 pixels; a pixel of a level with downsample <c>d</c> at level coordinates <c>(i, j)</c> is the content at
/// the level-0 point <c>((i + 0.5) d, (j + 0.5) d)</c> (point sampling, so every level is exactly computable).
/// </summary>
public interface ISlideContent
{
    /// <summary>Level-0 width in pixels.</summary>
    long Width { get; }

    /// <summary>Level-0 height in pixels.</summary>
    long Height { get; }

    /// <summary>The colour of the empty glass, also used for the padding of edge tiles.</summary>
    (byte R, byte G, byte B) Background { get; }

    /// <summary>
    /// True when the level-0 rectangle [<paramref name="x0"/>, <paramref name="x0"/> + <paramref name="width"/>) x
    /// [<paramref name="y0"/>, <paramref name="y0"/> + <paramref name="height"/>) is certainly all background, so a
    /// writer may reuse one encoded background tile. False means "may hold something".
    /// </summary>
    bool IsBackground(double x0, double y0, double width, double height);

    /// <summary>
    /// Renders <paramref name="width"/> x <paramref name="height"/> pixels of the level with downsample
    /// <paramref name="downsample"/>, starting at level coordinates (<paramref name="levelX"/>, <paramref name="levelY"/>),
    /// into <paramref name="rgb"/> as interleaved RGB rows. Pixels outside the slide are the background.
    /// </summary>
    void Render(double downsample, long levelX, long levelY, int width, int height, Span<byte> rgb);
}
