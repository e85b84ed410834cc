namespace Ips.IO;

internal sealed partial class Hdf5Structure
{
    /// <summary>The deepest chain of soft links followed: 16, HDF5's own limit (H5L_NUM_LINKS).</summary>
    public const int MaxSoftLinkDepth = 16;

    /// <summary>
    /// The links of a file as the walk finds them, and the check that following its soft links ends. PureHDF resolves
    /// a soft link when a name is looked up or a group's children are listed, by looking the link's value up as a
    /// path (from the root when it starts with '/', else from the link's group), following soft links on that path
    /// by recursion and without limit: a link whose path leads back through itself overflowed the stack and killed
    /// the process (found by fuzzing the split-file reader). Every soft link is followed here first, over every link
    /// a group may use (its own messages, its symbol table, a copy of its table cached in its parent), and a chain
    /// deeper than <see cref="MaxSoftLinkDepth"/> is refused.
    /// </summary>
    private sealed class Links
    {
        // Bounds the work of following links that branch (a name held twice) in a damaged file.
        private const int MaxSteps = 1 << 20;

        // Links by holder: a group's object header address, or the address of a symbol table's B-tree.
        private readonly Dictionary<ulong, List<(string Name, ulong? Hard, string? Soft)>> _held = [];
        private readonly Dictionary<ulong, HashSet<ulong>> _tablesOfGroup = [];
        private int _steps;

        public void Add(ulong holder, string name, ulong? hard, string? soft)
        {
            if (!_held.TryGetValue(holder, out var links))
            {
                _held[holder] = links = [];
            }
            links.Add((name, hard, soft));
        }

        public void UseTree(ulong group, ulong tree)
        {
            if (!_tablesOfGroup.TryGetValue(group, out var trees))
            {
                _tablesOfGroup[group] = trees = [];
            }
            trees.Add(tree);
        }

        public void CheckSoftLinks(ulong root)
        {
            var trees = _tablesOfGroup.Values.SelectMany(tree => tree).ToHashSet();
            foreach (var group in _held.Keys.Where(holder => !trees.Contains(holder)).Concat(_tablesOfGroup.Keys).Distinct().ToList())
            {
                foreach (var (name, _, soft) in Held(group).Where(link => link.Soft is not null))
                {
                    Follow(root, group, soft!, depth: 1, name);
                }
            }
        }

        // The objects a path can lead to from `group`, as PureHDF's NativeGroup.InternalGet walks it (split at
        // every '/', no segment skipped; a missing name ends the walk, as PureHDF then reports the link broken).
        private HashSet<ulong> Follow(ulong root, ulong group, string path, int depth, string link)
        {
            if (depth > MaxSoftLinkDepth)
            {
                throw new Damage($"the file is damaged: soft link '{link}' leads through more than {MaxSoftLinkDepth} soft links (they form a loop)");
            }
            if (path == "/")
            {
                return [root];
            }
            bool rooted = path.StartsWith('/');
            var segments = rooted ? path.Split('/').Skip(1) : path.Split('/');
            HashSet<ulong> current = [rooted ? root : group];
            foreach (var segment in segments)
            {
                var next = new HashSet<ulong>();
                foreach (var holder in current)
                {
                    foreach (var (_, hard, soft) in Held(holder).Where(held => held.Name == segment))
                    {
                        if (++_steps > MaxSteps)
                        {
                            throw new Damage($"the file is damaged: its links branch beyond {MaxSteps} steps");
                        }
                        if (hard is { } address)
                        {
                            next.Add(address);
                        }
                        else
                        {
                            next.UnionWith(Follow(root, holder, soft!, depth + 1, link));
                        }
                    }
                }
                current = next;
                if (current.Count == 0)
                {
                    break;
                }
            }
            return current;
        }

        // Every link a group may use: those of its own messages and those of each symbol table it is given.
        private IEnumerable<(string Name, ulong? Hard, string? Soft)> Held(ulong group)
        {
            var own = _held.GetValueOrDefault(group) ?? [];
            var tables = _tablesOfGroup.GetValueOrDefault(group) ?? [];
            return own.Concat(tables.SelectMany(tree => _held.GetValueOrDefault(tree) ?? []));
        }
    }
}
