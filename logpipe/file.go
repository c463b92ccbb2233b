package logpipe

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rotate is a rotation policy, logrotate's as seed 000 configures it:
//
//	daily
//	rotate 30
//	compress
//	dateext
//
// Rotation is decided by the time of the line about to be written (the
// latest line time seen, should lines come out of order), never by a
// clock: a replay of a week of traffic rotates on capture time.
//
// Names follow logrotate's dateext (logrotate(8), "dateext" and
// "dateformat"): the rotated file is FILE plus the date of the rotation
// in dateformat -%Y%m%d (plantegg.log-20261123; like logrotate without
// dateyesterday, a file rotated at the first line of the 23rd holds the
// 22nd's lines), and .gz once compressed. logrotate cannot rotate twice
// under one name: a second rotation on the same day fails with "destination
// ... already exists, skipping rotation" and the log grows on; the manual's
// remedy for size rotation is a dateformat with a time in it, and with
// Size set the names are dateformat -%Y%m%d-%s (the Unix seconds of the
// rotation, plantegg.log-20261123-1795448655). A rotation whose name is
// taken (a second size rotation within one second of line time) is
// skipped as logrotate skips it: the lines go on into the active file and
// the rotation happens at a later line. Both forms sort by name in time
// order, which is how the oldest are found.
type Rotate struct {
	// Daily rotates when a line's day (in Location) differs from the day
	// of the active file's first line.
	Daily bool
	// Size rotates before a line that would make the active file bigger
	// than Size bytes (0: no size limit). A file holding a single line
	// longer than Size is the only one bigger.
	Size int64
	// Keep is the number of rotated files kept (logrotate's "rotate");
	// older ones are deleted. 0 means 30.
	Keep int
	// Compress gzips rotated files (FILE-DATE.gz), DelayCompress leaves
	// the newest rotated file uncompressed until the next rotation, as
	// logrotate's delaycompress.
	Compress, DelayCompress bool
	// Location is the time zone of the days (nil: time.Local, as
	// logrotate's dates).
	Location *time.Location
}

// DefaultKeep is the number of rotated files kept when Rotate.Keep is 0:
// seed 000's "rotate 30".
const DefaultKeep = 30

func (r *Rotate) keep() int {
	if r.Keep <= 0 {
		return DefaultKeep
	}
	return r.Keep
}

func (r *Rotate) loc() *time.Location {
	if r.Location == nil {
		return time.Local
	}
	return r.Location
}

func (r *Rotate) day(t time.Time) int {
	lt := t.In(r.loc())
	return lt.Year()*1000 + lt.YearDay()
}

// Suffix is the dateext suffix of a file rotated at t.
func (r *Rotate) Suffix(t time.Time) string {
	s := t.In(r.loc()).Format("-20060102")
	if r.Size > 0 {
		s += "-" + strconv.FormatInt(t.Unix(), 10)
	}
	return s
}

// archiveRE matches what follows FILE in a rotated file's name.
var archiveRE = regexp.MustCompile(`^-[0-9]{8}(-[0-9]+)?(\.gz)?$`)

// FileOptions says how a File is opened and written.
type FileOptions struct {
	// Mode of a created file (0: 0640, logrotate's usual "create 0640").
	Mode os.FileMode
	// Truncate starts the log anew: the file is emptied (an offline
	// replay's output is a function of its input); with Rotate, rotated
	// files of an earlier log make Open fail rather than be deleted.
	// Otherwise lines are appended, and an existing file's day is that
	// of its modification time.
	Truncate bool
	// CreateDirs creates missing parent directories (as rsyslog does).
	CreateDirs bool
	// Stamp is written before each line; Host is used by StampTraditional.
	Stamp Stamp
	Host  string
	// Buffered keeps lines in memory until Flush, Close or a rotation
	// (faster; a crash loses the buffer). Otherwise each line reaches the
	// file in one write(2).
	Buffered bool
	// Rotate is the rotation policy (nil: none).
	Rotate *Rotate
}

// File is a sink appending lines to a file, rotating it as its Rotate
// policy says. Writers are serialized; a line being written while the
// file rotates waits for the rotation, which renames the active file to
// its rotated name and opens a new one under the same lock, so every line
// is in exactly one file. Compression and deletion of old files happen in
// the background, each step crash-safe: the rotated name is reached by
// rename, the .gz is written to a temporary file renamed into place
// before the uncompressed file is deleted (a .gz beside its uncompressed
// file is complete: the latter is deleted when found again), and opening
// a File tidies what a crash left.
type File struct {
	path string
	opt  FileOptions

	mu      sync.Mutex
	f       *os.File
	bw      *bufio.Writer
	size    int64
	day     int // day of the active file's first line (0: empty file)
	last    time.Time
	skipped string // rotated name found taken (rotation skipped)
	buf     []byte
	closed  bool
	werr    error

	tidyCh  chan struct{}
	done    chan struct{}
	tidyMu  sync.Mutex
	tidyErr error
}

// OpenFile opens (creating it with opt.Mode) the log file path.
func OpenFile(path string, opt FileOptions) (*File, error) {
	if opt.Mode == 0 {
		opt.Mode = 0o640
	}
	if opt.Rotate != nil {
		r := *opt.Rotate
		if !r.Daily && r.Size <= 0 {
			return nil, fmt.Errorf("%s: rotation needs daily or a size", path)
		}
		opt.Rotate = &r
	}
	if opt.CreateDirs {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
	}
	lf := &File{path: path, opt: opt}
	if opt.Rotate != nil && opt.Truncate {
		// A log started anew must not lose an earlier run's rotated
		// files: say so rather than delete them.
		if err := lf.refuseArchives(); err != nil {
			return nil, err
		}
	}
	if err := lf.open(); err != nil {
		return nil, err
	}
	if opt.Rotate != nil {
		lf.tidyCh = make(chan struct{}, 1)
		lf.done = make(chan struct{})
		go lf.tidyLoop()
		lf.tidyCh <- struct{}{} // what a crash may have left
	}
	return lf, nil
}

func (lf *File) open() error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	if lf.opt.Truncate {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(lf.path, flags, lf.opt.Mode)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	lf.f, lf.size, lf.day = f, st.Size(), 0
	if lf.size > 0 && lf.opt.Rotate != nil {
		lf.day = lf.opt.Rotate.day(st.ModTime())
	}
	if lf.opt.Buffered {
		lf.bw = bufio.NewWriterSize(f, 64<<10)
	}
	return nil
}

// Path is the active file's name.
func (lf *File) Path() string { return lf.path }

// WriteLine implements Sink.
func (lf *File) WriteLine(t time.Time, level uint8, line []byte) error {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	if lf.closed {
		return fmt.Errorf("%s: log file closed", lf.path)
	}
	if lf.werr != nil {
		return lf.werr
	}
	if t.After(lf.last) {
		lf.last = t
	}
	lf.buf = append(appendStamp(lf.buf[:0], lf.opt.Stamp, t, lf.opt.Host), line...)
	lf.buf = append(lf.buf, '\n')
	if lf.opt.Rotate != nil {
		if err := lf.maybeRotate(int64(len(lf.buf))); err != nil {
			lf.werr = err
			return err
		}
	}
	var err error
	if lf.bw != nil {
		_, err = lf.bw.Write(lf.buf)
	} else {
		_, err = lf.f.Write(lf.buf)
	}
	lf.size += int64(len(lf.buf))
	return err
}

// maybeRotate rotates the active file if the line of n bytes about to be
// written calls for it. lf.mu is held.
func (lf *File) maybeRotate(n int64) error {
	r := lf.opt.Rotate
	now := lf.last
	if lf.size == 0 {
		lf.day = r.day(now) // the file's period starts with its first line
		return nil
	}
	need := r.Daily && r.day(now) != lf.day || r.Size > 0 && lf.size+n > r.Size
	if !need {
		return nil
	}
	name := lf.path + r.Suffix(now)
	if name == lf.skipped {
		return nil
	}
	for _, n := range []string{name, name + ".gz"} {
		if _, err := os.Lstat(n); err == nil {
			lf.skipped = name // logrotate: "destination ... already exists, skipping rotation"
			return nil
		}
	}
	if err := lf.flush(); err != nil {
		return err
	}
	if err := lf.f.Close(); err != nil {
		return err
	}
	if err := os.Rename(lf.path, name); err != nil {
		if oerr := lf.open(); oerr != nil {
			return errors.Join(err, oerr)
		}
		return err
	}
	if err := lf.open(); err != nil {
		return err
	}
	lf.day = r.day(now)
	select {
	case lf.tidyCh <- struct{}{}:
	default: // a tidy-up is already due
	}
	return nil
}

func (lf *File) flush() error {
	if lf.bw != nil {
		return lf.bw.Flush()
	}
	return nil
}

// Flush writes buffered lines to the file.
func (lf *File) Flush() error {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	if lf.closed {
		return nil
	}
	return lf.flush()
}

// Close flushes and closes the file and waits for compression and
// deletion of old files to end. It reports the first error of either.
func (lf *File) Close() error {
	lf.mu.Lock()
	if lf.closed {
		lf.mu.Unlock()
		return nil
	}
	lf.closed = true
	err := lf.flush()
	if cerr := lf.f.Close(); err == nil {
		err = cerr
	}
	lf.mu.Unlock()
	if lf.tidyCh != nil {
		close(lf.tidyCh)
		<-lf.done
		lf.tidyMu.Lock()
		if err == nil {
			err = lf.tidyErr
		}
		lf.tidyMu.Unlock()
	}
	return err
}

func (lf *File) tidyLoop() {
	defer close(lf.done)
	for range lf.tidyCh {
		if err := lf.tidy(); err != nil {
			lf.tidyMu.Lock()
			if lf.tidyErr == nil {
				lf.tidyErr = err
			}
			lf.tidyMu.Unlock()
		}
	}
}

// Archives lists the rotated files of the log, oldest first (their
// names sort in time order).
func (lf *File) Archives() ([]string, error) {
	stems, _, _, err := lf.scan()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range stems {
		out = append(out, s.path())
	}
	return out, nil
}

type stem struct {
	name      string // full path without .gz
	plain, gz bool
}

func (s stem) path() string {
	if s.plain {
		return s.name
	}
	return s.name + ".gz"
}

// scan lists the rotated files (sorted by name, their .gz left aside)
// and the temporary files of interrupted compressions.
func (lf *File) scan() (stems []stem, tmps []string, dir string, err error) {
	dir, base := filepath.Split(lf.path)
	if dir == "" {
		dir = "."
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, dir, err
	}
	idx := map[string]int{}
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, "."+base+"-") && strings.Contains(n, ".gz.tmp") {
			tmps = append(tmps, filepath.Join(dir, n))
			continue
		}
		if !strings.HasPrefix(n, base) || !archiveRE.MatchString(n[len(base):]) || e.IsDir() {
			continue
		}
		gz := strings.HasSuffix(n, ".gz")
		sn := filepath.Join(dir, strings.TrimSuffix(n, ".gz"))
		i, ok := idx[sn]
		if !ok {
			i = len(stems)
			idx[sn] = i
			stems = append(stems, stem{name: sn})
		}
		if gz {
			stems[i].gz = true
		} else {
			stems[i].plain = true
		}
	}
	sort.Slice(stems, func(i, j int) bool { return stems[i].name < stems[j].name })
	return stems, tmps, dir, nil
}

func (lf *File) refuseArchives() error {
	stems, _, _, err := lf.scan()
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	if len(stems) > 0 {
		return fmt.Errorf("%s: rotated files of an earlier log are there (%s): move them away first; nfgo does not delete logs", lf.path, filepath.Base(stems[0].name))
	}
	return nil
}

// tidy deletes the rotated files beyond Keep, compresses the others as
// the policy says and clears what an interrupted compression left.
func (lf *File) tidy() error {
	r := lf.opt.Rotate
	stems, tmps, _, err := lf.scan()
	if err != nil {
		return err
	}
	for _, t := range tmps { // tidy-ups do not overlap: these are stale
		os.Remove(t)
	}
	var first error
	note := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	if extra := len(stems) - r.keep(); extra > 0 {
		for _, s := range stems[:extra] {
			for _, p := range []string{s.name, s.name + ".gz"} {
				if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
					note(err)
				}
			}
		}
		stems = stems[extra:]
	}
	for i, s := range stems {
		switch {
		case s.plain && s.gz:
			// The .gz was renamed into place complete; the crash came
			// before the uncompressed file was deleted.
			note(os.Remove(s.name))
		case s.plain && r.Compress && !(r.DelayCompress && i == len(stems)-1):
			note(compressFile(s.name))
		}
	}
	return first
}

// compressFile gzips path into path.gz through a temporary file renamed
// into place, then deletes path.
func compressFile(path string) error {
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	tmp, err := os.CreateTemp(dir, "."+base+".gz.tmp*")
	if err != nil {
		return err
	}
	fail := func(err error) error {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	zw, _ := gzip.NewWriterLevel(tmp, gzip.DefaultCompression)
	zw.Name, zw.ModTime = base, st.ModTime()
	if _, err := io.Copy(zw, src); err != nil {
		return fail(err)
	}
	if err := zw.Close(); err != nil {
		return fail(err)
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path+".gz"); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Remove(path)
}
