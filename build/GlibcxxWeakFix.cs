// The compatibility fix of README.md, "libtorch on Debian 12 and Ubuntu 22.04": libLibTorchSharp.so (TorchSharp 0.107)
// declares that it needs GLIBCXX_3.4.32 only because one never-called symbol, std::ios_base_library_init(), is tagged with
// that version. Debian 12 and Ubuntu 22.04 ship libstdc++ up to GLIBCXX_3.4.30, so the loader refuses
// the library. Marking that single version need as weak (VER_FLG_WEAK in its Elf64_Vernaux entry)
// turns the hard failure into a tolerated absence.
//
// This file is compiled twice: by MSBuild's RoslynCodeTaskFactory (Directory.Build.targets), which
// patches the copy of the library in a build or publish output, and into the Ips library (with
// IPS_ELF_NO_MSBUILD defined), where `ips doctor` and the tests use the same logic.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace Ips.Native
{
    /// <summary>Outcome of inspecting or patching an ELF file's GLIBCXX_3.4.32 version need.</summary>
    internal enum GlibcxxNeedState
    {
        /// <summary>The file does not need GLIBCXX_3.4.32 at all.</summary>
        Absent,
        /// <summary>The need is present and strong: the loader fails without GLIBCXX_3.4.32.</summary>
        Strong,
        /// <summary>The need is present and already weak.</summary>
        Weak,
    }

    /// <summary>Reads and patches the version-need table (.gnu.version_r) of a 64-bit little-endian ELF file.</summary>
    internal static class GlibcxxWeakFix
    {
        /// <summary>The version whose need is made weak.</summary>
        public const string VersionName = "GLIBCXX_3.4.32";

        private const uint ShtGnuVerneed = 0x6ffffffe;
        private const ushort VerFlgWeak = 0x2;

        /// <summary>Well-known places of the system's libstdc++ on Debian, Ubuntu and Fedora-like systems.</summary>
        private static readonly string[] LibstdcxxCandidates =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6",
            "/usr/lib/libstdc++.so.6",
        };

        /// <summary>
        /// True when the system's libstdc++ lacks <see cref="VersionName"/>, i.e. when the fix is needed.
        /// False when libstdc++ provides it or no libstdc++ is found (not Linux): then nothing is patched.
        /// </summary>
        public static bool SystemLacksVersion()
        {
            foreach (var path in LibstdcxxCandidates)
            {
                if (File.Exists(path))
                {
                    return IndexOf(File.ReadAllBytes(path), Encoding.ASCII.GetBytes(VersionName + "\0")) < 0;
                }
            }
            return false;
        }

        /// <summary>Reports whether the ELF image needs <see cref="VersionName"/>, and whether that need is weak.</summary>
        /// <exception cref="InvalidDataException">The bytes are not a 64-bit little-endian ELF file with a readable version-need table.</exception>
        public static GlibcxxNeedState Inspect(byte[] elf, string fileName)
        {
            var offset = FindFlagsOffset(elf, fileName);
            if (offset < 0)
            {
                return GlibcxxNeedState.Absent;
            }
            return (U16(elf, offset) & VerFlgWeak) != 0 ? GlibcxxNeedState.Weak : GlibcxxNeedState.Strong;
        }

        /// <summary>
        /// Sets the weak flag on the GLIBCXX_3.4.32 need in <paramref name="elf"/>, in place.
        /// Returns true when a byte changed, false when the need is absent or already weak.
        /// </summary>
        public static bool Patch(byte[] elf, string fileName)
        {
            var offset = FindFlagsOffset(elf, fileName);
            if (offset < 0)
            {
                return false;
            }
            var flags = U16(elf, offset);
            if ((flags & VerFlgWeak) != 0)
            {
                return false;
            }
            flags |= VerFlgWeak;
            elf[offset] = (byte)(flags & 0xff);
            elf[offset + 1] = (byte)(flags >> 8);
            return true;
        }

        /// <summary>
        /// Patches the file at <paramref name="path"/> when needed. The new content goes to a temporary file
        /// that replaces the original, so a hard link into the NuGet cache is broken rather than written through.
        /// </summary>
        public static bool PatchFile(string path)
        {
            var bytes = File.ReadAllBytes(path);
            if (!Patch(bytes, path))
            {
                return false;
            }
            ReplaceAtomically(path, bytes);
            return true;
        }

        /// <summary>
        /// Puts the patched content of <paramref name="source"/> at <paramref name="destination"/>, unless that file
        /// already holds exactly those bytes. A program starting meanwhile sees the old file or the new one, never a
        /// pristine or half-written copy: the bytes go to a temporary file renamed over the destination. Returns true
        /// when the destination was written.
        /// </summary>
        public static bool InstallPatched(string source, string destination)
        {
            var bytes = File.ReadAllBytes(source);
            Patch(bytes, source);
            if (File.Exists(destination) && SameBytes(File.ReadAllBytes(destination), bytes))
            {
                return false;
            }
            ReplaceAtomically(destination, bytes);
            return true;
        }

        private static void ReplaceAtomically(string path, byte[] bytes)
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }
            // A unique name per writer: two builds installing at once each rename a complete file.
            var temporary = path + ".ips-tmp-" + Guid.NewGuid().ToString("N");
            try
            {
                File.WriteAllBytes(temporary, bytes);
                if (File.Exists(path))
                {
                    File.Replace(temporary, path, null); // rename(2) on Unix: atomic
                }
                else
                {
                    File.Move(temporary, path);
                }
            }
            finally
            {
                if (File.Exists(temporary))
                {
                    File.Delete(temporary);
                }
            }
        }

        private static bool SameBytes(byte[] a, byte[] b)
        {
            if (a.Length != b.Length)
            {
                return false;
            }
            for (var i = 0; i < a.Length; i++)
            {
                if (a[i] != b[i])
                {
                    return false;
                }
            }
            return true;
        }

        /// <summary>Byte offset of vna_flags of the GLIBCXX_3.4.32 Vernaux entry, or -1 when there is none.</summary>
        // Plain byte-array arithmetic rather than spans: MSBuild compiles this file against netstandard.
        private static int FindFlagsOffset(byte[] elf, string fileName)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            {
                throw new InvalidDataException($"{fileName}: not an ELF file (bad magic number).");
            }
            if (elf[4] != 2 || elf[5] != 1)
            {
                throw new InvalidDataException($"{fileName}: expected a 64-bit little-endian ELF file (class {elf[4]}, data {elf[5]}).");
            }
            var sectionTable = (long)U64(elf, 0x28);
            var sectionSize = U16(elf, 0x3A);
            var sectionCount = U16(elf, 0x3C);
            if (sectionSize < 64 || sectionTable <= 0 || sectionTable + (long)sectionSize * sectionCount > elf.Length)
            {
                throw new InvalidDataException($"{fileName}: the ELF section header table lies outside the file.");
            }

            var sections = new List<Section>();
            for (var i = 0; i < sectionCount; i++)
            {
                var header = sectionTable + (long)i * sectionSize;
                sections.Add(new Section(U32(elf, header + 4), (long)U64(elf, header + 24), U32(elf, header + 40), U32(elf, header + 44)));
            }

            foreach (var section in sections)
            {
                if (section.Type != ShtGnuVerneed)
                {
                    continue;
                }
                if (section.Link >= sections.Count)
                {
                    throw new InvalidDataException($"{fileName}: .gnu.version_r links to a missing string table.");
                }
                var strings = sections[(int)section.Link].Offset;
                var needOffset = section.Offset;
                // sh_info holds the number of Elf64_Verneed entries; each chains to its Elf64_Vernaux entries.
                for (var n = 0; n < section.Info; n++)
                {
                    Require(needOffset + 16 <= elf.Length, fileName);
                    var auxCount = U16(elf, needOffset + 2);
                    var auxOffset = needOffset + U32(elf, needOffset + 8);
                    for (var a = 0; a < auxCount; a++)
                    {
                        Require(auxOffset + 16 <= elf.Length, fileName);
                        if (ReadCString(elf, strings + U32(elf, auxOffset + 8), fileName) == VersionName)
                        {
                            return (int)(auxOffset + 4);
                        }
                        auxOffset += U32(elf, auxOffset + 12);
                    }
                    needOffset += U32(elf, needOffset + 12);
                }
            }
            return -1;
        }

        private sealed class Section
        {
            public Section(uint type, long offset, uint link, uint info)
            {
                Type = type;
                Offset = offset;
                Link = link;
                Info = info;
            }

            public uint Type { get; }
            public long Offset { get; }
            public uint Link { get; }
            public uint Info { get; }
        }

        private static ushort U16(byte[] bytes, long at) => (ushort)(bytes[at] | (bytes[at + 1] << 8));

        private static uint U32(byte[] bytes, long at) => (uint)(U16(bytes, at) | (U16(bytes, at + 2) << 16));

        private static ulong U64(byte[] bytes, long at) => U32(bytes, at) | ((ulong)U32(bytes, at + 4) << 32);

        private static void Require(bool condition, string fileName)
        {
            if (!condition)
            {
                throw new InvalidDataException($"{fileName}: the ELF version-need table (.gnu.version_r) is truncated.");
            }
        }

        private static string ReadCString(byte[] bytes, long offset, string fileName)
        {
            Require(offset >= 0 && offset < bytes.Length, fileName);
            var end = Array.IndexOf(bytes, (byte)0, (int)offset);
            Require(end >= 0, fileName);
            return Encoding.ASCII.GetString(bytes, (int)offset, end - (int)offset);
        }

        private static int IndexOf(byte[] haystack, byte[] needle)
        {
            for (var i = 0; i + needle.Length <= haystack.Length; i++)
            {
                var j = 0;
                while (j < needle.Length && haystack[i + j] == needle[j])
                {
                    j++;
                }
                if (j == needle.Length)
                {
                    return i;
                }
            }
            return -1;
        }
    }

#if !IPS_ELF_NO_MSBUILD
    /// <summary>
    /// MSBuild task: installs the patched copy of one libLibTorchSharp.so at its destination (see
    /// <see cref="GlibcxxWeakFix.InstallPatched"/>) when the system's libstdc++ needs it or <see cref="Always"/> is set.
    /// <see cref="Handled"/> tells the build to leave that file out of its own copy.
    /// </summary>
    public sealed class InstallPatchedLibTorchSharp : Microsoft.Build.Utilities.Task
    {
        /// <summary>The library as the package ships it (in the NuGet cache, never written).</summary>
        [Microsoft.Build.Framework.Required]
        public string Source { get; set; } = "";

        /// <summary>Where the patched copy goes.</summary>
        [Microsoft.Build.Framework.Required]
        public string Destination { get; set; } = "";

        /// <summary>Patch even where the system's libstdc++ has the version (for packages that run elsewhere).</summary>
        public bool Always { get; set; }

        /// <summary>True when the patched copy is in place and the pristine one must not be copied.</summary>
        [Microsoft.Build.Framework.Output]
        public bool Handled { get; set; }

        /// <inheritdoc />
        public override bool Execute()
        {
            if (!Always && !GlibcxxWeakFix.SystemLacksVersion())
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, $"System libstdc++ provides {GlibcxxWeakFix.VersionName}; libLibTorchSharp.so left as it is.");
                return true;
            }
            try
            {
                if (GlibcxxWeakFix.InstallPatched(Source, Destination))
                {
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, $"ips: installed {Destination} with its {GlibcxxWeakFix.VersionName} need marked weak.");
                }
                Handled = true;
            }
            catch (InvalidDataException error)
            {
                Log.LogError(error.Message);
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
