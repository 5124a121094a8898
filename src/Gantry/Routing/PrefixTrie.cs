namespace Gantry.Routing;

/// <summary>
/// A character trie over route path prefixes. Walking a request path down it visits exactly the
/// nodes whose prefix the path starts with, so a request is tested only against the sub-routes
/// whose paths could match it instead of against every route. Each node lists sub-route ranks in
/// ascending order (best first), which lets the search stop at the first match in a node.
/// </summary>
internal sealed class PrefixTrie
{
    private static readonly int[] NoRanks = [];

    private readonly char[] _keys;
    private readonly PrefixTrie[] _children;

    private PrefixTrie(char[] keys, PrefixTrie[] children, int[] ranks)
    {
        _keys = keys;
        _children = children;
        Ranks = ranks;
    }

    public int[] Ranks { get; }

    public PrefixTrie? Child(char c)
    {
        var index = _keys.AsSpan().BinarySearch(c);
        return index >= 0 ? _children[index] : null;
    }

    /// <summary>Mutable while the router is being built, then frozen into arrays.</summary>
    public sealed class Builder
    {
        // Most nodes have one child or none: a short list searched in order costs less than a dictionary per node.
        private List<(char Key, Builder Node)>? _children;
        private List<int>? _ranks;

        /// <summary>Ranks must be added in ascending order; a repeat of the last one is ignored.</summary>
        public void Add(string prefix, int rank)
        {
            var node = this;
            foreach (var c in prefix)
                node = node.ChildFor(c);
            node._ranks ??= [];
            if (node._ranks.Count == 0 || node._ranks[^1] != rank)
                node._ranks.Add(rank);
        }

        private Builder ChildFor(char c)
        {
            _children ??= new List<(char, Builder)>(1);
            foreach (var (key, node) in _children)
            {
                if (key == c)
                    return node;
            }
            var child = new Builder();
            _children.Add((c, child));
            return child;
        }

        public PrefixTrie Build()
        {
            if (_children is null)
                return new PrefixTrie([], [], _ranks is null ? NoRanks : _ranks.ToArray());
            _children.Sort(static (a, b) => a.Key.CompareTo(b.Key));
            var keys = new char[_children.Count];
            var children = new PrefixTrie[keys.Length];
            for (var i = 0; i < keys.Length; i++)
            {
                keys[i] = _children[i].Key;
                children[i] = _children[i].Node.Build();
            }
            return new PrefixTrie(keys, children, _ranks is null ? NoRanks : _ranks.ToArray());
        }
    }
}
