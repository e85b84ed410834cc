using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Ips.Cli")]
[assembly: InternalsVisibleTo("Ips.Tests")]
