using System.Buffers.Binary;
using System.IO.Compression;
using System.Numerics;
using Sifa.Tensors.IO;

namespace Sifa.Nn.Checkpoints.Pth;

/// <summary>
/// Reads checkpoints written by PyTorch's <c>torch.save</c> — the zip format of PyTorch ≥ 1.6 and the legacy
/// pickle stream — without Python. The file is treated as untrusted: nothing in it is executed (only an
/// allow-list of tensor, storage and OrderedDict globals is understood), only regular files are opened, every
/// declared size is checked against what the file holds before anything is allocated, and all that a load allocates
/// (pickle objects, decompressed entries, expanded tensors) is bounded by a multiple of the file's size. Every problem
/// is reported as a <see cref="CheckpointFormatException"/> that names the file.
/// </summary>
public static class PthFile
{
    /// <summary>The magic number that opens a legacy checkpoint (a pickled Python int).</summary>
    private static readonly BigInteger LegacyMagic = BigInteger.Parse("119547037146038801333356");

    private const long LegacyProtocolVersion = 1001;

    /// <summary>Loads the whole object tree of a checkpoint.</summary>
    /// <param name="path">The <c>.pth</c> file.</param>
    /// <returns>
    /// The unpickled object: <see cref="PthDict"/>, <c>List&lt;object?&gt;</c>, <c>object?[]</c> (tuples), <see cref="long"/>,
    /// <see cref="BigInteger"/>, <see cref="double"/>, <see cref="string"/>, <c>byte[]</c>, <see cref="bool"/>, null and
    /// <see cref="PthTensor"/>.
    /// </returns>
    /// <exception cref="CheckpointFormatException">The file cannot be read, is malformed, or names a global outside the allow-list.</exception>
    public static object? Load(string path) => Read(path).Root;

    /// <summary>Loads the whole object tree of a checkpoint, with its format.</summary>
    /// <param name="path">The <c>.pth</c> file.</param>
    /// <returns>The object tree and the format.</returns>
    /// <exception cref="CheckpointFormatException">The file cannot be read, is malformed, or names a global outside the allow-list.</exception>
    public static PthContent Read(string path)
    {
        using var fs = CheckpointFile.OpenRegular(path);
        return Read(fs, path);
    }

    /// <summary>Loads the whole object tree of a checkpoint held in a seekable stream.</summary>
    /// <param name="stream">The checkpoint bytes, from position 0; must be seekable.</param>
    /// <param name="name">A name for error messages.</param>
    /// <returns>The object tree and the format.</returns>
    /// <exception cref="CheckpointFormatException">The data is malformed or names a global outside the allow-list.</exception>
    public static PthContent Read(Stream stream, string name = "<stream>")
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek || !stream.CanRead) throw new ArgumentException("the stream must be readable and seekable", nameof(stream));
        try
        {
            stream.Position = 0;
            Span<byte> head = stackalloc byte[4];
            int n = stream.ReadAtLeast(head, 4, throwOnEndOfStream: false);
            stream.Position = 0;
            if (n == 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && (head[2] == 3 || head[2] == 5) && (head[3] == 4 || head[3] == 6))
                return new PthContent(ReadZip(stream, name, new LoadBudget(name, stream.Length)), PthFormat.Zip, name);
            if (stream.Length >= 262)
            {
                Span<byte> ustar = stackalloc byte[5];
                stream.Position = 257;
                stream.ReadExactly(ustar);
                stream.Position = 0;
                if (ustar.SequenceEqual("ustar"u8))
                    throw new CheckpointFormatException(name, null, $"tar-format checkpoints (PyTorch < 0.4) are not supported");
            }
            return new PthContent(ReadLegacy(stream, name, new LoadBudget(name, stream.Length)), PthFormat.Legacy, name);
        }
        catch (IOException e) when (e is not EndOfStreamException and not CheckpointFormatException)
        {
            throw new CheckpointFormatException(name, null, $"cannot read checkpoint: {e.Message}", e);
        }
        catch (EndOfStreamException e)
        {
            throw new CheckpointFormatException(name, null, $"truncated checkpoint: {e.Message}", e);
        }
    }

    /// <summary>
    /// Loads the state dict of a checkpoint: the top level when it holds tensors, else the dict under
    /// <c>state_dict</c> or <c>model</c>. Entries whose values are not tensors are skipped (and listed).
    /// </summary>
    /// <param name="path">The <c>.pth</c> file.</param>
    /// <returns>The tensors in file order, the container key used and the skipped keys.</returns>
    /// <exception cref="CheckpointFormatException">The file is malformed or holds no state dict.</exception>
    public static PthStateDict LoadStateDict(string path) => ToStateDict(Read(path));

    /// <summary>Loads the state dict of a checkpoint held in a seekable stream (see <see cref="LoadStateDict(string)"/>).</summary>
    /// <param name="stream">The checkpoint bytes; must be seekable.</param>
    /// <param name="name">A name for error messages.</param>
    /// <returns>The tensors in file order, the container key used and the skipped keys.</returns>
    /// <exception cref="CheckpointFormatException">The data is malformed or holds no state dict.</exception>
    public static PthStateDict LoadStateDict(Stream stream, string name = "<stream>") => ToStateDict(Read(stream, name));

    /// <summary>The keys, in order, under which <see cref="LoadStateDict(string)"/> looks for a nested state dict.</summary>
    public static IReadOnlyList<string> ContainerKeys { get; } = new[] { "state_dict", "model" };

    /// <summary>Finds the state dict in a loaded checkpoint (see <see cref="LoadStateDict(string)"/>).</summary>
    /// <param name="content">A checkpoint from <see cref="Read(string)"/>.</param>
    /// <returns>The state dict.</returns>
    /// <exception cref="CheckpointFormatException">The checkpoint holds no state dict.</exception>
    public static PthStateDict ToStateDict(PthContent content)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (content.Root is not PthDict top)
            throw new CheckpointFormatException(content.Source, null, $"the checkpoint holds a {Unpickler.Describe(content.Root)}, not a dict of tensors");
        PthDict? container = null;
        string? key = null;
        if (top.Values.Any(v => v is PthTensor)) container = top;
        else
        {
            foreach (var k in ContainerKeys)
                if (top.TryGetValue(k, out var v) && v is PthDict d && d.Values.Any(x => x is PthTensor))
                {
                    container = d;
                    key = k;
                    break;
                }
        }
        if (container is null)
        {
            var keys = string.Join(", ", top.Keys.Take(20).Select(k => $"'{k}'"));
            throw new CheckpointFormatException(content.Source, null,
                $"no state dict found: the top level holds no tensors and neither " +
                $"{string.Join(" nor ", ContainerKeys.Select(k => $"'{k}'"))} is a dict of tensors (top-level keys: {keys})");
        }
        var items = new List<KeyValuePair<string, PthTensor>>();
        var skipped = new List<string>();
        foreach (var (k, v) in container)
        {
            if (k is string s && v is PthTensor t) items.Add(new(s, t));
            else skipped.Add(k is object?[] tuple ? $"({string.Join(", ", tuple)})" : k.ToString() ?? "");
        }
        var beside = new List<string>();
        if (key != null)
            foreach (var (k, v) in top)
            {
                if (k is string sk && sk == key) continue;
                beside.Add(v is PthDict { ClassName: { } cls } && PthGlobals.InertClasses.Contains(cls)
                    ? $"skipped {cls} '{k}' (read as data, never executed)"
                    : $"skipped '{k}' ({Unpickler.Describe(v)})");
            }
        return new PthStateDict(items, content.Format, key, skipped, content.Source) { SkippedEntries = beside };
    }

    // ====================================================================== zip format

    private static object? ReadZip(Stream stream, string name, LoadBudget budget)
    {
        ZipArchive zip;
        try { zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true); }
        catch (InvalidDataException e) { throw new CheckpointFormatException(name, null, $"not a valid zip checkpoint (truncated or corrupt): {e.Message}", e); }
        using (zip)
        {
            IReadOnlyCollection<ZipArchiveEntry> entries;
            try { entries = zip.Entries; }
            catch (InvalidDataException e) { throw new CheckpointFormatException(name, null, $"corrupt zip directory: {e.Message}", e); }
            var byName = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
            foreach (var e in entries) byName.TryAdd(e.FullName, e);
            var pkls = entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal)
                                          && e.FullName.IndexOf('/') == e.FullName.Length - "/data.pkl".Length).ToList();
            if (pkls.Count == 0) throw new CheckpointFormatException(name, null, $"zip archive has no '<prefix>/data.pkl' entry; not a PyTorch checkpoint");
            if (pkls.Count > 1)
                throw new CheckpointFormatException(name, null, $"zip archive has {pkls.Count} data.pkl entries ({string.Join(", ", pkls.Select(p => p.FullName))})");
            string prefix = pkls[0].FullName[..^"data.pkl".Length];

            if (byName.TryGetValue(prefix + "byteorder", out var bo))
            {
                var order = System.Text.Encoding.ASCII.GetString(ReadEntry(bo, name, Math.Min(bo.Length, 16), budget)).Trim();
                if (order != "little") throw new CheckpointFormatException(name, null, $"byte order '{order}' is not supported (only little-endian)");
            }

            var pkl = ReadEntry(pkls[0], name, pkls[0].Length, budget);
            var roots = new Dictionary<string, StorageRoot>(StringComparer.Ordinal);
            var checkedRoots = new HashSet<string>(StringComparer.Ordinal);
            var pickle = new MemoryStream(pkl, writable: false);
            var unpickler = new Unpickler(pickle, 0, pkl.Length, name, pkls[0].FullName, (pid, u) =>
            {
                var (root, view) = ParsePersistentId(pid, u, roots, legacy: false);
                if (view is null && checkedRoots.Add(root.Key))
                {
                    // First sight of this storage: its entry must exist and hold the declared bytes.
                    string entryName = prefix + "data/" + root.Key;
                    if (!byName.TryGetValue(entryName, out var entry))
                        throw u.Error($"storage '{root.Key}' has no entry '{entryName}' in the archive");
                    Int128 need = (Int128)root.Numel * root.DType.ElementSize;
                    if (need > entry.Length)
                        throw u.Error($"storage '{root.Key}' declares {root.Numel} {root.DType.ClassName} elements ({need} bytes) " +
                                      $"but entry '{entryName}' holds only {entry.Length} bytes");
                    if (need > Array.MaxLength) throw u.Error($"storage '{root.Key}' of {need} bytes is too large");
                    if (entry.CompressedLength > stream.Length || need > (Int128)entry.CompressedLength * 1100 + 64)
                        throw u.Error($"storage '{root.Key}' needs {need} bytes but entry '{entryName}' stores only {entry.CompressedLength}");
                    budget.Promise(need, $"storage '{root.Key}' ({root.Numel} {root.DType.ClassName} elements)");
                }
                return view ?? new StorageRef(root, 0, root.Numel);
            }, budget);
            var obj = unpickler.Load();
            return Finish(obj, name, budget, root =>
            {
                var entry = byName[prefix + "data/" + root.Key];
                long bytes = root.Numel * root.DType.ElementSize;
                budget.Fulfil(bytes);
                return ReadEntry(entry, name, bytes, budget);
            });
        }
    }

    /// <summary>
    /// Reads the first <paramref name="count"/> bytes of an entry into a buffer of exactly that size: the declared
    /// sizes are checked first, the budget before allocating, and at most <paramref name="count"/> bytes are ever
    /// inflated, whatever the entry claims.
    /// </summary>
    private static byte[] ReadEntry(ZipArchiveEntry entry, string name, long count, LoadBudget budget)
    {
        if (count > Array.MaxLength) throw new CheckpointFormatException(name, null, $"zip entry '{entry.FullName}' is too large ({count} bytes)");
        if (entry.Length < count) throw new CheckpointFormatException(name, null, $"zip entry '{entry.FullName}' holds {entry.Length} bytes, {count} needed");
        if (entry.CompressedLength > budget.FileLength)
            throw new CheckpointFormatException(name, null, $"zip entry '{entry.FullName}' declares {entry.CompressedLength} stored bytes but the file has only {budget.FileLength}");
        // Deflate cannot expand data more than ~1032x.
        if (entry.Length > entry.CompressedLength * 1100L + 64)
            throw new CheckpointFormatException(name, null, $"zip entry '{entry.FullName}' declares {entry.Length} bytes from {entry.CompressedLength} compressed bytes");
        budget.Ensure(count, $"zip entry '{entry.FullName}' ({count} bytes from {entry.CompressedLength} stored)");
        try
        {
            using var s = entry.Open();
            var buf = new byte[(int)count];
            int got = s.ReadAtLeast(buf, buf.Length, throwOnEndOfStream: false);
            if (got < buf.Length)
                throw new CheckpointFormatException(name, null, $"zip entry '{entry.FullName}' is truncated ({got} of {count} bytes)");
            CheckCrc(entry, name, buf, count);
            return buf;
        }
        catch (IOException e) when (e is not CheckpointFormatException)
        {
            throw new CheckpointFormatException(name, null, $"cannot read zip entry '{entry.FullName}': {e.Message}", e);
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointFormatException(name, null, $"corrupt zip entry '{entry.FullName}': {e.Message}", e);
        }
    }

    /// <summary>Checks the zip CRC-32 when the whole entry was read (as PyTorch's reader does).</summary>
    private static void CheckCrc(ZipArchiveEntry entry, string name, byte[] data, long count)
    {
        if (count != entry.Length) return;
        uint crc = Crc32.Update(0, data);
        if (crc != entry.Crc32)
            throw new CheckpointFormatException(name, null, $"zip entry '{entry.FullName}' is corrupt (CRC-32 {crc:x8}, expected {entry.Crc32:x8})");
    }

    // ====================================================================== legacy format

    private static object? ReadLegacy(Stream s, string name, LoadBudget budget)
    {
        long len = s.Length;
        if (len < 2 || s.ReadByte() != 0x80)
            throw new CheckpointFormatException(name, null, $"not a PyTorch checkpoint (neither a zip archive nor a legacy pickle stream: wrong magic number)");
        s.Position = 0;
        object? NoPersistent(object?[] pid, Unpickler u) => throw u.Error("unexpected persistent id");

        object? magic;
        var u1 = new Unpickler(s, 0, len, name, "magic number pickle", NoPersistent, budget);
        try { magic = u1.Load(); }
        catch (CheckpointFormatException e)
        { throw new CheckpointFormatException(name, null, $"not a PyTorch checkpoint (wrong magic number: {e.Message})", e); }
        if (!(magic is BigInteger m && m == LegacyMagic))
            throw new CheckpointFormatException(name, null, $"wrong magic number {magic ?? "None"} (expected {LegacyMagic}); not a legacy PyTorch checkpoint");

        var u2 = new Unpickler(s, u1.Position, len, name, "protocol version pickle", NoPersistent, budget);
        var version = u2.Load();
        if (version is not long v || v != LegacyProtocolVersion)
            throw new CheckpointFormatException(name, null, $"unsupported legacy protocol version {version ?? "None"} (expected {LegacyProtocolVersion})");

        var u3 = new Unpickler(s, u2.Position, len, name, "sys_info pickle", NoPersistent, budget);
        var sysInfo = u3.Load();
        if (sysInfo is PthDict info && info.TryGetValue("little_endian", out var le) && le is false)
            throw new CheckpointFormatException(name, null, $"big-endian checkpoints are not supported");

        var roots = new Dictionary<string, StorageRoot>(StringComparer.Ordinal);
        var promised = new HashSet<string>(StringComparer.Ordinal);
        var u4 = new Unpickler(s, u3.Position, len, name, "object pickle", (pid, u) =>
        {
            var (root, view) = ParsePersistentId(pid, u, roots, legacy: true);
            if (root.Numel * (Int128)root.DType.ElementSize > len)
                throw u.Error($"storage '{root.Key}' declares {root.Numel} {root.DType.ClassName} elements, more bytes than the whole file ({len})");
            if (promised.Add(root.Key))
                budget.Promise(root.Numel * (Int128)root.DType.ElementSize, $"storage '{root.Key}' ({root.Numel} {root.DType.ClassName} elements)");
            return view ?? new StorageRef(root, 0, root.Numel);
        }, budget);
        var obj = u4.Load();

        var u5 = new Unpickler(s, u4.Position, len, name, "storage key pickle", NoPersistent, budget);
        var keyList = u5.Load() as List<object?>
            ?? throw new CheckpointFormatException(name, null, $"the storage key pickle is not a list");
        long pos = u5.Position;
        var where = new Dictionary<string, long>(StringComparer.Ordinal);
        Span<byte> count8 = stackalloc byte[8];
        foreach (var k in keyList)
        {
            if (k is not string key) throw new CheckpointFormatException(name, null, $"storage key {k ?? "None"} is not a string");
            if (!roots.TryGetValue(key, out var root))
                throw new CheckpointFormatException(name, null, $"storage '{key}' is listed but no tensor uses it");
            if (where.ContainsKey(key)) throw new CheckpointFormatException(name, null, $"storage '{key}' is listed twice");
            if (len - pos < 8)
                throw new CheckpointFormatException(name, null, $"truncated at byte {pos}: storage '{key}' has no element count");
            s.Position = pos;
            s.ReadExactly(count8);
            long count = BinaryPrimitives.ReadInt64LittleEndian(count8);
            pos += 8;
            if (count != root.Numel)
                throw new CheckpointFormatException(name, null, $"storage '{key}' at byte {pos - 8} has {count} elements but the pickle declared {root.Numel}");
            Int128 bytes = (Int128)count * root.DType.ElementSize;
            if (bytes > len - pos)
                throw new CheckpointFormatException(name, null, $"truncated: storage '{key}' needs {bytes} bytes at byte {pos} but only {len - pos} remain");
            if (bytes > Array.MaxLength) throw new CheckpointFormatException(name, null, $"storage '{key}' of {bytes} bytes is too large");
            where[key] = pos;
            pos += (long)bytes;
        }
        foreach (var key in roots.Keys)
            if (!where.ContainsKey(key)) throw new CheckpointFormatException(name, null, $"storage '{key}' is used but missing from the storage key list");

        return Finish(obj, name, budget, root =>
        {
            long bytes = root.Numel * root.DType.ElementSize;
            budget.Fulfil(bytes);
            budget.Ensure(bytes, $"storage '{root.Key}'");
            var buf = new byte[(int)bytes];
            s.Position = where[root.Key];
            s.ReadExactly(buf);
            return buf;
        });
    }

    // ====================================================================== shared

    /// <summary>
    /// Parses <c>('storage', storage_type, key, location, numel[, view_metadata])</c>; returns the root storage and,
    /// for a legacy view, the window.
    /// </summary>
    private static (StorageRoot Root, StorageRef? View) ParsePersistentId(object?[] pid, Unpickler u, Dictionary<string, StorageRoot> roots, bool legacy)
    {
        if (pid.Length is not (5 or 6) || pid[0] is not "storage")
            throw u.Error($"unsupported persistent id ({pid.Length} items, tag {(pid.Length > 0 ? pid[0] : "none")}); expected ('storage', type, key, location, numel)");
        var type = pid[1] as PickleGlobal;
        if (type?.Storage is null) throw u.Error($"persistent id names {Unpickler.Describe(pid[1])}, not a storage type");
        if (pid[2] is not string key) throw u.Error("storage key is not a string");
        if (pid[3] is not string) throw u.Error("storage location is not a string");
        if (pid[4] is not long numel || numel < 0) throw u.Error($"storage '{key}' has an invalid element count {pid[4] ?? "None"}");
        if (roots.TryGetValue(key, out var existing))
        {
            if (existing.DType != type.Storage || existing.Numel != numel)
                throw u.Error($"storage '{key}' is declared again as {numel} {type.Storage.ClassName} elements (first as {existing.Numel} {existing.DType.ClassName})");
        }
        else roots[key] = existing = new StorageRoot(key, type.Storage, numel);

        if (pid.Length == 6 && pid[5] is not null)
        {
            if (!legacy) throw u.Error("storage view metadata in a zip checkpoint");
            if (pid[5] is not object?[] { Length: 3 } meta || meta[0] is not string || meta[1] is not long off || meta[2] is not long size
                || off < 0 || size < 0 || (Int128)off + size > numel)
                throw u.Error($"storage '{key}' has invalid view metadata");
            return (existing, new StorageRef(existing, off, size));
        }
        return (existing, null);
    }

    /// <summary>
    /// Reads every referenced storage once, turns pending tensors into <see cref="PthTensor"/>s in place, and rejects
    /// anything else that is not plain data. Iterative (no recursion), so deep or cyclic trees are safe.
    /// </summary>
    private static object? Finish(object? root, string name, LoadBudget budget, Func<StorageRoot, byte[]> readStorage)
    {
        var holder = new object?[] { root };
        var slots = new List<(object Container, int Index, PendingTensor Tensor)>();
        var visited = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var todo = new Stack<object>();
        todo.Push(holder);
        while (todo.Count > 0)
        {
            var c = todo.Pop();
            if (!visited.Add(c)) continue;
            switch (c)
            {
                case PthDict d:
                    for (int i = 0; i < d.Count; i++) Visit(c, i, d.GetAt(i).Value);
                    if (d.Attributes is not null) todo.Push(d.Attributes);
                    break;
                case List<object?> l:
                    for (int i = 0; i < l.Count; i++) Visit(c, i, l[i]);
                    break;
                case object?[] a:
                    for (int i = 0; i < a.Length; i++) Visit(c, i, a[i]);
                    break;
            }
        }

        void Visit(object container, int index, object? value)
        {
            switch (value)
            {
                case PendingTensor t: slots.Add((container, index, t)); break;
                case PthDict or List<object?> or object?[]: todo.Push(value); break;
                case PickleGlobal g:
                    throw new CheckpointFormatException(name, null, $"the checkpoint holds a bare reference to '{g.FullName}', which is not supported");
                case StorageRef sr:
                    throw new CheckpointFormatException(name, null, $"the checkpoint holds a bare storage ('{sr.Root.Key}'), not a tensor; not supported");
            }
        }

        // Materialise storage by storage so that at most one storage's bytes are held at a time.
        var done = new Dictionary<PendingTensor, PthTensor>(ReferenceEqualityComparer.Instance);
        foreach (var group in slots.Select(s => s.Tensor).Distinct(ReferenceEqualityComparer.Instance).Cast<PendingTensor>()
                     .GroupBy(t => t.Storage.Root))
        {
            var bytes = readStorage(group.Key);
            foreach (var t in group)
            {
                done[t] = t.Materialize(bytes);
                budget.Fulfil(t.Numel * sizeof(float));
            }
        }
        foreach (var (container, index, t) in slots)
        {
            var v = done[t];
            switch (container)
            {
                case PthDict d: d.SetAt(index, v); break;
                case List<object?> l: l[index] = v; break;
                case object?[] a: a[index] = v; break;
            }
        }
        return holder[0];
    }
}
