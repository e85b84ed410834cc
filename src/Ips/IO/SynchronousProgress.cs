namespace Ips.IO;

/// <summary>
/// An <see cref="IProgress{T}"/> that calls its handler at once, on the thread that reports. The framework's
/// <see cref="Progress{T}"/> posts each report to the captured synchronisation context, which in a console program is
/// the thread pool: reports then arrive late, out of order and concurrently with one another, so a progress bar
/// could go backwards and a final "done" line could print after the command's summary.
/// </summary>
/// <typeparam name="T">The progress value.</typeparam>
/// <param name="handler">Called with every report, on the reporting thread.</param>
public sealed class SynchronousProgress<T>(Action<T> handler) : IProgress<T>
{
    /// <inheritdoc />
    public void Report(T value) => handler(value);
}
